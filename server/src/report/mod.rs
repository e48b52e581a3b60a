//! What supervisors hand upwards each month: the dropout-control report with its amendments,
//! the 三个一 and device-check compliance, the ledgers as Excel files, and a student's file as a
//! PDF for the paper archive.

pub mod compliance;
pub mod file_pdf;
pub mod filing;
pub mod ledgers;
pub mod monthly;
pub mod rows;
pub mod xlsx;
