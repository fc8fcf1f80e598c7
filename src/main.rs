fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(parlab::app::main())
}
