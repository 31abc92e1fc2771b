//! A tool's `input_schema`: the JSON Schema of its arguments. Calls are checked against it with
//! `boon` (a well-kept validator for drafts 4 to 2020-12, chosen because it builds for wasm32 and
//! resolves nothing over the network), and rule conditions are checked against it when saved so a
//! pointer the arguments can never have is refused instead of silently never matching.

use serde_json::{Map, Value};

use crate::wire::Operator;
use crate::Error;

/// Largest `input_schema`, as JSON.
pub const MAX_SCHEMA_BYTES: usize = 32 * 1024;
/// Longest schema error shown to a caller.
const MAX_ERROR_CHARS: usize = 300;

/// A compiled input schema.
pub struct InputSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl std::fmt::Debug for InputSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputSchema")
    }
}

/// Refuses every external reference: a schema is used only with what it contains.
struct NoLoader;

impl boon::UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Err(format!("external references are not followed ({url})").into())
    }
}

impl InputSchema {
    /// Compiles a schema; errors are plain enough to answer a 400 with.
    pub fn compile(schema: &Value) -> Result<InputSchema, Error> {
        let size = serde_json::to_string(schema).map(|s| s.len()).unwrap_or(usize::MAX);
        if size > MAX_SCHEMA_BYTES {
            return Err(Error::Invalid(format!("input_schema must be at most {MAX_SCHEMA_BYTES} bytes as JSON")));
        }
        if !schema.is_object() {
            return Err(Error::Invalid("input_schema must be a JSON Schema object".into()));
        }
        let mut compiler = boon::Compiler::new();
        compiler.use_loader(Box::new(NoLoader));
        compiler.set_default_draft(boon::Draft::V2020_12);
        let mut schemas = boon::Schemas::new();
        let loc = "urn:oakauth:input-schema";
        let bad = |e: boon::CompileError| {
            Error::Invalid(format!("input_schema is not a usable JSON Schema: {}", clip(&e.to_string())))
        };
        compiler.add_resource(loc, schema.clone()).map_err(bad)?;
        let index = compiler.compile(loc, &mut schemas).map_err(bad)?;
        Ok(InputSchema { schemas, index })
    }

    /// Whether `arguments` conform; the error names the first place that does not.
    pub fn check(&self, arguments: Option<&Map<String, Value>>) -> Result<(), String> {
        let value = Value::Object(arguments.cloned().unwrap_or_default());
        self.schemas.validate(&value, self.index).map_err(|e| clip(&format!("{e:#}")))
    }
}

fn clip(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX_ERROR_CHARS {
        one_line.chars().take(MAX_ERROR_CHARS).collect::<String>() + "…"
    } else {
        one_line
    }
}

/// Checks that `pointer` names something the schema's arguments can have, with a type `op` can
/// use. Parts of the schema it cannot read (no `properties`, combinators) are taken as allowing
/// anything there.
pub fn check_pointer(schema: &Value, pointer: &str, op: Operator, value: &Value) -> Result<(), String> {
    let mut here = resolve(schema, schema);
    let mut walked = String::new();
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        walked.push('/');
        walked.push_str(raw);
        let Some(node) = here else { return Ok(()) };
        let props = node.get("properties").and_then(Value::as_object);
        let next = if let Some(p) = props.and_then(|p| p.get(&token)) {
            Some(p)
        } else if let Some(items) = node.get("items").filter(|i| i.is_object()) {
            if token.parse::<usize>().is_err() {
                return Err(format!(
                    "{walked}: the tool's input_schema has an array here; address an item by its index"
                ));
            }
            Some(items)
        } else if let Some(props) = props {
            match node.get("additionalProperties") {
                Some(extra @ Value::Object(_)) => Some(extra),
                Some(Value::Bool(true)) => None,
                _ => {
                    let mut known: Vec<&str> = props.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    return Err(format!(
                        "the tool's input_schema has no argument {walked:?} (it has: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ));
                }
            }
        } else {
            None
        };
        here = next.and_then(|n| resolve(schema, n));
    }
    let Some(node) = here else { return Ok(()) };
    let types: Vec<&str> = match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let needs: &[&str] = match op {
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => &["number", "integer"],
        Operator::Prefix
        | Operator::Suffix
        | Operator::Matches
        | Operator::PathUnder
        | Operator::HostIn
        | Operator::Cidr => &["string"],
        Operator::LenMax | Operator::Contains => &["string", "array"],
        Operator::Eq | Operator::Ne => match value {
            Value::Number(_) => &["number", "integer"],
            Value::String(_) => &["string"],
            Value::Bool(_) => &["boolean"],
            _ => return Ok(()),
        },
        Operator::In | Operator::NotIn | Operator::Exists => return Ok(()),
    };
    if types.iter().any(|t| needs.contains(t)) {
        Ok(())
    } else {
        Err(format!(
            "{pointer} is {} in the tool's input_schema, but `{}` needs {}",
            types.join(" or "),
            op.as_str(),
            needs.join(" or ")
        ))
    }
}

/// Follows local `$ref`s (`#/$defs/…`), at most a few hops.
fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> Option<&'a Value> {
    for _ in 0..8 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => node = root.pointer(r.strip_prefix('#')?)?,
            None => return Some(node),
        }
    }
    None
}
