//! Reading a resource from a request body the way Octopus's deserialiser does: the declared
//! fields are taken (with their types checked), missing ones get their defaults, and anything
//! else is dropped. The field lists are the writable properties of each Swagger definition.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::store::Doc;

/// The JSON type a field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string or null (default null).
    Str,
    /// A boolean (default false).
    Bool,
    /// An integer (default 0).
    Int,
    /// An array (default empty).
    Array,
    /// An object or null (default null).
    Object,
    /// A map of strings (default empty object).
    Map,
}

/// One writable field of a resource.
pub type Field = (&'static str, Ty);

/// The body as a JSON object, or Octopus's 400.
pub fn object(body: &Value) -> ApiResult<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| ApiError::invalid("The request body must be a JSON object."))
}

/// Takes the declared fields from `body`, checking each one's type and filling defaults.
pub fn take(body: &Value, fields: &[Field]) -> ApiResult<Doc> {
    let input = object(body)?;
    let mut doc = Doc::new();
    let mut errors = Vec::new();
    for &(name, ty) in fields {
        let given = input.get(name).filter(|v| !v.is_null());
        let value = match (ty, given) {
            (_, None) => default(ty),
            (Ty::Str, Some(v @ Value::String(_)))
            | (Ty::Bool, Some(v @ Value::Bool(_)))
            | (Ty::Array, Some(v @ Value::Array(_)))
            | (Ty::Object | Ty::Map, Some(v @ Value::Object(_))) => v.clone(),
            (Ty::Int, Some(v @ Value::Number(n))) if n.is_i64() => v.clone(),
            (_, Some(_)) => {
                errors.push(format!("The {name} field must be {}.", describe(ty)));
                continue;
            }
        };
        doc.insert(name.to_owned(), value);
    }
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// A required, non-empty string field.
pub fn required_text(doc: &Doc, field: &str) -> ApiResult<String> {
    match doc.get(field).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(ApiError::invalid(format!("The {field} field is required."))),
    }
}

fn default(ty: Ty) -> Value {
    match ty {
        Ty::Str | Ty::Object => Value::Null,
        Ty::Bool => Value::Bool(false),
        Ty::Int => Value::from(0),
        Ty::Array => Value::Array(Vec::new()),
        Ty::Map => Value::Object(Map::new()),
    }
}

fn describe(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::Bool => "true or false",
        Ty::Int => "an integer",
        Ty::Array => "an array",
        Ty::Object | Ty::Map => "an object",
    }
}
