//! Where the Android app keeps its data and puts its exports, found without JNI: an Android app
//! process is named after its package (`/proc/self/cmdline`), and the package's private files
//! directory is `/data/data/<package>/files` (what `Context.getFilesDir()` returns for the
//! phone's main user). Built on every native platform so that the parsing is tested here.

use std::path::{Path, PathBuf};

/// The package name in a process's command line: the first NUL-terminated word, without the
/// `:service` suffix a secondary process carries.
pub fn package_name(cmdline: &[u8]) -> Option<String> {
    let first = cmdline.split(|b| *b == 0).next()?;
    let name = std::str::from_utf8(first).ok()?;
    let name = name.split(':').next()?.trim();
    // A package name is dotted Java identifiers; anything else (a path, a shell) is not an app.
    let valid = name.contains('.')
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    valid.then(|| name.to_string())
}

/// The app's private files directory: the phone's store and keys live here, out of other apps'
/// reach and removed with the app.
pub fn files_dir(package: &str) -> PathBuf {
    Path::new("/data/data").join(package).join("files")
}

/// Where a refused record's export goes so that the school admin can take it off the phone: the
/// shared Download folder (an app may create its own files there from Android 11 on, no
/// permission asked), else the app's folder on shared storage (reachable over USB).
pub fn export_dir_candidates(package: &str) -> [PathBuf; 2] {
    [
        PathBuf::from("/storage/emulated/0/Download/保学"),
        Path::new("/storage/emulated/0/Android/data")
            .join(package)
            .join("files"),
    ]
}

/// The first of `candidates` that can be created and written to.
pub fn first_writable(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find_map(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let probe = dir.join(".baoxue-write-check");
        std::fs::write(&probe, b"").ok()?;
        let _ = std::fs::remove_file(&probe);
        Some(dir.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_read_from_the_process_name() {
        assert_eq!(
            package_name(b"cn.baoxue.app\0").as_deref(),
            Some("cn.baoxue.app")
        );
        assert_eq!(
            package_name(b"cn.baoxue.app:sync\0").as_deref(),
            Some("cn.baoxue.app")
        );
        assert_eq!(
            files_dir("cn.baoxue.app"),
            Path::new("/data/data/cn.baoxue.app/files")
        );
    }

    #[test]
    fn a_process_that_is_not_an_app_gives_no_package() {
        // A desktop run (cargo's binary path) must not be mistaken for an app's data folder.
        assert_eq!(package_name(b"/usr/bin/baoxue-app\0--flag\0"), None);
        assert_eq!(package_name(b"sh\0"), None);
        assert_eq!(package_name(b""), None);
        assert_eq!(package_name(b"cn.1bad.app\0"), None);
    }

    #[test]
    fn the_export_goes_to_the_first_folder_that_takes_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let blocked = tmp.path().join("a-file");
        std::fs::write(&blocked, b"x").unwrap();
        let open = tmp.path().join("exports");
        let chosen = first_writable(&[blocked.join("under-a-file"), open.clone()]);
        assert_eq!(chosen, Some(open.clone()));
        assert!(open.is_dir());
        assert_eq!(
            std::fs::read_dir(&open).unwrap().count(),
            0,
            "no probe left"
        );
        assert_eq!(first_writable(&[blocked.join("x")]), None);
    }
}
