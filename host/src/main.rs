fn main() -> std::process::ExitCode {
    boxoffice::malloc_tuning::apply();
    boxoffice::cli::main()
}
