//! The template engine every generated file (init's files, the front's config) is rendered with.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// Block tags on their own lines leave no blank line; files end with their newline; nothing here
/// is HTML, so values are written as they are (templates quote them where the format needs it).
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("a valid syntax");
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env
}

/// An environment holding one compiled-in template; one that does not parse is a bug, caught by
/// the golden tests.
pub(crate) fn single(name: &'static str, source: &'static str) -> Environment<'static> {
    let mut env = environment();
    env.add_template(name, source).unwrap_or_else(|e| panic!("template {name} does not parse: {e:#}"));
    env
}

/// Render a compiled-in template; one that does not render is a bug, caught by the golden tests.
pub(crate) fn render(env: &Environment<'static>, name: &str, ctx: impl Serialize) -> String {
    env.get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(Serde(ctx))))
        .unwrap_or_else(|e| panic!("template {name} does not render: {e:#}"))
}
