//! mcpctl's entry point; the top floor is src/app.rs.

fn main() -> std::process::ExitCode {
    mcpctl::app::main()
}
