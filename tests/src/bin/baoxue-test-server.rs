//! The server as a separate process, for tests that kill it: `baoxue-test-server DATA_DIR
//! PORT_FILE` serves on a random loopback port, writes the port to PORT_FILE once listening, and
//! stops on SIGTERM exactly as `baoxue-server serve` does. `BAOXUE_DATABASE` names a
//! PostgreSQL database to keep the records in, as it does for `baoxue-server`.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(port_file)) = (args.next(), args.next()) else {
        eprintln!("usage: baoxue-test-server DATA_DIR PORT_FILE");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::fs::write(&port_file, port.to_string()).expect("port file");
        let settings = baoxue_server::Settings {
            data_dir: dir.into(),
            database: std::env::var("BAOXUE_DATABASE").ok(),
            evidence: Default::default(),
            web_app: None,
        };
        baoxue_server::serve(listener, settings, baoxue_server::shutdown_signal())
            .await
            .expect("serve");
    });
}
