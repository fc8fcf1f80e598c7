//! The integration tests, in one binary with a module per area: one link instead of
//! ten, and one place to look.
//!
//! Where a new test goes: beside the tests of the command or area it exercises (`cli`
//! for flags and help, `experiments` for an experiment's rows and lines, `advise` for
//! the advise command, `io`, `pool` and `scheduling` for those experiments in depth,
//! `peers` for Python and Go,
//! `report` for the report files and compare, `faults`, `hostile` and `interrupt` for
//! what goes wrong, `mpi` for the MPI techniques and their faults). A new area gets a
//! new module here only when none of these fits.
//! Helpers that two areas need go in `common`. Unit tests of one function stay beside
//! that function in `src/`.

mod common;

mod advise;
mod cli;
mod experiments;
mod faults;
mod hostile;
mod interrupt;
mod io;
mod mpi;
mod peers;
mod pool;
mod report;
mod scheduling;
