//! parlab: a lab for seeing, measuring and understanding parallelism techniques, built
//! around the experiments of the paper N-CS159 (parallelism in Python and Go).

pub mod advise;
pub mod app;
pub mod checkpoint;
pub mod claims;
pub mod cli;
pub mod compare;
pub mod error;
pub mod experiments;
pub mod files;
pub mod limits;
pub mod measure;
pub mod outputs;
pub mod parse;
pub mod peers;
pub mod pool;
pub mod progress;
pub mod reaper;
pub mod report;
pub mod results;
pub mod server;
pub mod techniques;
pub mod units;
pub mod worker;
