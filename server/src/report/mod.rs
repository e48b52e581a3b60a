//! What supervisors hand upwards each month: the dropout-control report with its amendments,
//! the 三个一 and device-check compliance, and the ledgers as Excel files.

pub mod compliance;
pub mod monthly;
pub mod xlsx;
