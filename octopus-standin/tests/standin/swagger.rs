//! A small validator for the definitions of Octopus Server's Swagger 2.0 spec (fixture
//! `fixtures/octopus/octopus_deploy.json`, Octopus Server 2020.5), so that the contract tests
//! can hold every response of the stand-in to it. Test code: serde_json only.
//!
//! Rules, applied to a value and a definition (`Spec::validate`):
//! - `$ref` (`#/definitions/X`) is resolved, at any depth and recursively.
//! - `type` is checked: `string`, `integer`, `number`, `boolean`, `array`, `object`.
//! - `format`: `int32` and `int64` ranges; `date-time` as RFC 3339 with an offset
//!   (`2017-03-20T21:00:17.205+00:00` as Octopus writes it, or `Z`; no display forms such as
//!   "Monday, March 20, 2017"); `uuid` as 8-4-4-4-12 hex digits. Other formats are not checked.
//! - `enum` of strings, `minLength`/`maxLength` of strings, `items` of arrays,
//!   `additionalProperties` of maps (keys free, every value checked).
//! - `required`: each listed property must be present and not null.
//! - Null is accepted for any property that is not required, and for a map value: Octopus
//!   writes nulls (`"QueueTimeExpiry": null`, a form's `"Values": {"Notes": null}`). Null is not
//!   accepted as an array item or as the whole document.
//! - Strict: every property present in an object must be declared by its definition. This is
//!   what catches a misspelled field name. Free-form objects are exempt: a definition with
//!   `properties: {}` or no properties and no `additionalProperties` (`Control`) takes any
//!   members. A bare `{"type": "object"}` schema is how the spec's generator writes a C#
//!   `object`; it takes any JSON value (task `Arguments` values are strings, fixture
//!   `task.json`).
//!
//! One documented wire deviation from the spec: `PropertyValueResource`. The spec describes the
//! C# class (`IsSensitive`, `Value`, `SensitiveValue`), but Octopus writes it on the wire as a
//! plain string (fixture `deployment-process.json`), or for a sensitive value as a
//! `SensitiveValue` object `{"HasValue": bool, "NewValue": string|null, "Hint"?: string|null}`
//! (Octopus.Client's `PropertyValueResource` JSON converter). Exactly those two forms are
//! accepted wherever the spec says `PropertyValueResource` (action and step `Properties`).
//!
//! Problems come back as `<JSON path>: <what is wrong>`, for example
//! `$.Items[0].Steps[1].Actions[0].Packages[0].FeedId: expected string, got number`. Property
//! names that are not plain identifiers are quoted: `$.Properties["Octopus.Action.Script.Syntax"]`.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::harness::{self, TestResult};

/// The definitions of the Swagger spec, loaded once per test binary.
#[derive(Debug)]
pub struct Spec {
    definitions: Map<String, Value>,
}

static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();

/// The definition that has a wire form other than the one the spec describes (module doc).
const PROPERTY_VALUE: &str = "PropertyValueResource";

impl Spec {
    /// The spec of fixture `octopus_deploy.json`, read and parsed on first use.
    pub fn load() -> Result<&'static Spec, Box<dyn std::error::Error>> {
        let loaded = SPEC.get_or_init(|| {
            let doc = fixture("octopus_deploy.json").map_err(|e| e.to_string())?;
            let definitions = doc
                .get("definitions")
                .and_then(Value::as_object)
                .cloned()
                .ok_or("octopus_deploy.json has no definitions")?;
            Ok(Spec { definitions })
        });
        loaded.as_ref().map_err(|e| e.clone().into())
    }

    /// The problems of `value` as an instance of `#/definitions/<definition>`, strictly.
    pub fn validate(&self, definition: &str, value: &Value) -> Vec<String> {
        self.validate_allowing(definition, value, &[])
    }

    /// As [`Spec::validate`], but tolerates the undeclared properties at `allowed` paths.
    /// Array indices in a path match `[*]` in an allowed path (`$.Items[*].IsStale`).
    pub fn validate_allowing(
        &self,
        definition: &str,
        value: &Value,
        allowed: &[&str],
    ) -> Vec<String> {
        self.validate_schema(&reference(definition), value, allowed)
    }

    /// The problems of `value` as an array of `#/definitions/<definition>` (the `/all` routes).
    pub fn validate_array(&self, definition: &str, value: &Value) -> Vec<String> {
        let schema = json!({"type": "array", "items": reference(definition)});
        self.validate_schema(&schema, value, &[])
    }

    /// The problems of `value` against an inline schema written in the spec's dialect.
    pub fn validate_schema(&self, schema: &Value, value: &Value, allowed: &[&str]) -> Vec<String> {
        let mut walk = Walk {
            spec: self,
            allowed,
            problems: Vec::new(),
        };
        walk.check(schema, value, "$", "the inline schema");
        walk.problems
    }
}

/// Holds one response to the spec outside the contract tests: `value` as `definition`, or as
/// a bare array of it when written `[Definition]`; an error lists every problem.
pub fn conforms(definition: &str, value: &Value) -> TestResult {
    let spec = Spec::load()?;
    let problems = match definition
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
    {
        Some(item) => spec.validate_array(item, value),
        None => spec.validate(definition, value),
    };
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("not a {definition}:\n  {}\n{value}", problems.join("\n  ")).into())
    }
}

/// `{"$ref": "#/definitions/<name>"}`.
fn reference(definition: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{definition}") })
}

/// Octopus's error body: `{"ErrorMessage": string, "Errors": [string]}` (fixtures
/// `error.400.json`, `error.json`). The spec gives error responses no schema. `Errors` is
/// required unless `errors_optional` (fixture `error.json`, a 2022.4 server's 500, has none).
pub fn error_schema(errors_optional: bool) -> Value {
    let required = if errors_optional {
        json!(["ErrorMessage"])
    } else {
        json!(["ErrorMessage", "Errors"])
    };
    json!({
        "type": "object",
        "properties": {
            "ErrorMessage": {"type": "string", "minLength": 1},
            "Errors": {"type": "array", "items": {"type": "string"}}
        },
        "required": required
    })
}

/// A fixture of `fixtures/octopus` as JSON. A leading UTF-8 byte order mark is skipped
/// (`task-list.page0.json` starts with one, as Octopus.Client's canned responses do).
pub fn fixture(name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let path = harness::fixtures().join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read fixture {}: {e}", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(serde_json::from_str(text)?)
}

/// One validation: the spec, what is allowed, and the problems found so far.
struct Walk<'a> {
    spec: &'a Spec,
    allowed: &'a [&'a str],
    problems: Vec<String>,
}

impl Walk<'_> {
    fn problem(&mut self, path: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{path}: {what}"));
    }

    /// Checks `value` at `path` against `schema`, which belongs to definition `owner` (for
    /// messages about undeclared properties).
    fn check(&mut self, schema: &Value, value: &Value, path: &str, owner: &str) {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let Some(name) = target.strip_prefix("#/definitions/") else {
                self.problem(path, format_args!("unsupported $ref {target}"));
                return;
            };
            if name == PROPERTY_VALUE {
                self.property_value(value, path);
                return;
            }
            let spec = self.spec;
            match spec.definitions.get(name) {
                Some(definition) => self.check(definition, value, path, name),
                None => self.problem(path, format_args!("no definition {name} in the spec")),
            }
            return;
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.object(schema, value, path, owner),
            Some("array") => match value {
                Value::Array(items) => {
                    let item_schema = schema.get("items").cloned().unwrap_or(json!({}));
                    for (i, item) in items.iter().enumerate() {
                        self.check(&item_schema, item, &format!("{path}[{i}]"), owner);
                    }
                }
                other => self.mismatch(path, "array", other),
            },
            Some("string") => match value {
                Value::String(s) => self.string(schema, s, path),
                other => self.mismatch(path, "string", other),
            },
            Some("integer") => self.integer(schema, value, path),
            Some("number") if !value.is_number() => self.mismatch(path, "number", value),
            Some("boolean") if !value.is_boolean() => self.mismatch(path, "boolean", value),
            Some("number" | "boolean") | None => {}
            Some(other) => self.problem(path, format_args!("unsupported schema type {other}")),
        }
    }

    fn mismatch(&mut self, path: &str, expected: &str, got: &Value) {
        self.problem(path, format_args!("expected {expected}, got {}", kind(got)));
    }

    fn object(&mut self, schema: &Value, value: &Value, path: &str, owner: &str) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        if properties.is_none() && additional.is_none() {
            // A bare `{"type": "object"}`: C#'s `object`, any value (module doc).
            return;
        }
        let Value::Object(members) = value else {
            self.mismatch(path, "object", value);
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in &required {
            if !members.contains_key(*name) {
                self.problem(&member(path, name), "required property missing");
            }
        }
        let free_form = properties.is_none_or(Map::is_empty);
        for (name, member_value) in members {
            let at = member(path, name);
            let declared = properties.and_then(|p| p.get(name));
            match (declared, additional) {
                (Some(_), _) | (None, Some(_)) if member_value.is_null() => {
                    if required.contains(&name.as_str()) {
                        self.problem(&at, "required property is null");
                    }
                }
                (Some(property), _) => self.check(property, member_value, &at, owner),
                (None, Some(map_value)) => self.check(map_value, member_value, &at, owner),
                (None, None) if free_form || self.is_allowed(&at) => {}
                (None, None) => self.problem(&at, format_args!("property not declared in {owner}")),
            }
        }
    }

    fn is_allowed(&self, path: &str) -> bool {
        let general = generalise(path);
        self.allowed.iter().any(|a| *a == general)
    }

    fn string(&mut self, schema: &Value, s: &str, path: &str) {
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.iter().any(|o| o.as_str() == Some(s))
        {
            let names: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
            self.problem(
                path,
                format_args!("{s:?} is not one of {}", names.join(", ")),
            );
        }
        let length = u64::try_from(s.chars().count()).unwrap_or(u64::MAX);
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            self.problem(path, format_args!("shorter than {min} characters"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            self.problem(path, format_args!("longer than {max} characters"));
        }
        match schema.get("format").and_then(Value::as_str) {
            Some("date-time") if !is_date_time(s) => {
                self.problem(path, format_args!("{s:?} is not an RFC 3339 date-time"));
            }
            Some("uuid") if !is_uuid(s) => {
                self.problem(path, format_args!("{s:?} is not a uuid"));
            }
            _ => {}
        }
    }

    fn integer(&mut self, schema: &Value, value: &Value, path: &str) {
        let Value::Number(n) = value else {
            self.mismatch(path, "integer", value);
            return;
        };
        let Some(i) = n.as_i64() else {
            if n.is_u64() {
                self.problem(path, format_args!("{n} is out of the int64 range"));
            } else {
                self.mismatch(path, "integer", value);
            }
            return;
        };
        if schema.get("format").and_then(Value::as_str) == Some("int32")
            && i32::try_from(i).is_err()
        {
            self.problem(path, format_args!("{i} is out of the int32 range"));
        }
    }

    /// `PropertyValueResource` on the wire: a string, or a `SensitiveValue` object.
    fn property_value(&mut self, value: &Value, path: &str) {
        let members = match value {
            Value::String(_) => return,
            Value::Object(members) => members,
            other => {
                self.problem(
                    path,
                    format_args!(
                        "expected a string or a SensitiveValue object (PropertyValueResource), got {}",
                        kind(other)
                    ),
                );
                return;
            }
        };
        for name in ["HasValue", "NewValue"] {
            if !members.contains_key(name) {
                self.problem(&member(path, name), "required property missing");
            }
        }
        for (name, v) in members {
            let at = member(path, name);
            match (name.as_str(), v) {
                ("HasValue", Value::Bool(_))
                | ("NewValue" | "Hint", Value::String(_) | Value::Null) => {}
                ("HasValue", other) => self.mismatch(&at, "boolean", other),
                ("NewValue" | "Hint", other) => self.mismatch(&at, "string or null", other),
                _ if self.is_allowed(&at) => {}
                _ => self.problem(
                    &at,
                    "property not declared in SensitiveValue (PropertyValueResource wire form)",
                ),
            }
        }
    }
}

/// The JSON type of a value, as the problems name it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The path of a member: `$.Name`, or `$["Octopus.Action.Name"]` for other names.
fn member(path: &str, name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Value::String(name.to_owned()))
    }
}

/// A path with every array index replaced by `*`: `$.Items[3].X` -> `$.Items[*].X`.
fn generalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let digits = after
            .get(1..)
            .map(|a| a.bytes().take_while(u8::is_ascii_digit).count())
            .unwrap_or(0);
        if digits > 0 && after.as_bytes().get(digits + 1) == Some(&b']') {
            out.push_str("[*]");
            rest = after.get(digits + 2..).unwrap_or("");
        } else {
            out.push('[');
            rest = after.get(1..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// The number written with ASCII digits at `range` of `s`, if all are digits.
fn digits(s: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = s.get(range)?;
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let date_ok = digits(s, 0..4).is_some()
        && at(4, b'-')
        && digits(s, 5..7).is_some_and(|m| (1..=12).contains(&m))
        && at(7, b'-')
        && digits(s, 8..10).is_some_and(|d| (1..=31).contains(&d));
    let time_ok = (at(10, b'T') || at(10, b't'))
        && digits(s, 11..13).is_some_and(|h| h <= 23)
        && at(13, b':')
        && digits(s, 14..16).is_some_and(|m| m <= 59)
        && at(16, b':')
        && digits(s, 17..19).is_some_and(|sec| sec <= 60);
    if !(date_ok && time_ok) {
        return false;
    }
    let mut rest = s.get(19..).unwrap_or("");
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return false;
        }
        rest = fraction.get(count..).unwrap_or("");
    }
    match rest {
        "Z" | "z" => true,
        offset if offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')) => {
            offset.as_bytes().get(3) == Some(&b':')
                && digits(offset, 1..3).is_some_and(|h| h <= 23)
                && digits(offset, 4..6).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Asserts that `problems` is empty, showing them all otherwise.
fn assert_clean(what: &str, problems: &[String]) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

/// Asserts that `problems` holds exactly one problem, at `path`, mentioning `words`.
fn assert_one(problems: &[String], path: &str, words: &str) {
    assert_eq!(problems.len(), 1, "expected one problem, got {problems:#?}");
    let first = problems.first().map(String::as_str).unwrap_or("");
    assert!(
        first.starts_with(&format!("{path}: ")) && first.contains(words),
        "expected a problem at {path} about {words:?}, got {first:?}"
    );
}

// ---- The validator can fail -------------------------------------------------------------

#[test]
fn swagger_validator_catches_a_misspelled_property() -> TestResult {
    let spec = Spec::load()?;
    let mut task = fixture("task.json")?;
    if let Some(t) = task.as_object_mut() {
        let state = t.remove("State").unwrap_or(Value::Null);
        t.insert("Sate".into(), state);
    }
    assert_one(
        &spec.validate("TaskResource", &task),
        "$.Sate",
        "property not declared in TaskResource",
    );
    // In a nested definition too, with the definition named.
    let mut process = fixture("deployment-process.json")?;
    if let Some(package) = process
        .pointer_mut("/Steps/0/Actions/0/Packages/0")
        .and_then(Value::as_object_mut)
    {
        package.insert("FeedID".into(), json!("feeds-builtin"));
    }
    assert_one(
        &spec.validate("DeploymentProcessResource", &process),
        "$.Steps[0].Actions[0].Packages[0].FeedID",
        "property not declared in PackageReference",
    );
    Ok(())
}

#[test]
fn swagger_validator_catches_a_wrong_type() -> TestResult {
    let spec = Spec::load()?;
    let mut process = fixture("deployment-process.json")?;
    if let Some(feed) = process.pointer_mut("/Steps/0/Actions/0/Packages/0/FeedId") {
        *feed = json!(1);
    }
    let page = json!({"ItemType": "DeploymentProcess", "Items": [process]});
    assert_eq!(
        spec.validate("ResourceCollection_of_DeploymentProcessResource", &page),
        vec!["$.Items[0].Steps[0].Actions[0].Packages[0].FeedId: expected string, got number"]
    );
    let mut task = fixture("task.json")?;
    task["IsCompleted"] = json!("true");
    assert_one(
        &spec.validate("TaskResource", &task),
        "$.IsCompleted",
        "expected boolean, got string",
    );
    let mut set = fixture("variable-set.json")?;
    set["Version"] = json!(3.5);
    assert_one(
        &spec.validate("VariableSetResource", &set),
        "$.Version",
        "expected integer, got number",
    );
    set["Version"] = json!(i64::from(i32::MAX) + 1);
    assert_one(
        &spec.validate("VariableSetResource", &set),
        "$.Version",
        "out of the int32 range",
    );
    set["Version"] = json!(3);
    set["Variables"] = json!({"Name": "not an array"});
    assert_one(
        &spec.validate("VariableSetResource", &set),
        "$.Variables",
        "expected array, got object",
    );
    assert_one(
        &spec.validate("TaskResource", &Value::Null),
        "$",
        "expected object, got null",
    );
    Ok(())
}

#[test]
fn swagger_validator_catches_a_bad_enum_value() -> TestResult {
    let spec = Spec::load()?;
    let mut task = fixture("task.json")?;
    task["State"] = json!("Succeeded");
    assert_one(
        &spec.validate("TaskResource", &task),
        "$.State",
        "\"Succeeded\" is not one of Canceled, Cancelling, Executing, Failed, Queued, Success, TimedOut",
    );
    let mut set = fixture("variable-set.json")?;
    set["Variables"][2]["Type"] = json!("Secret");
    assert_one(
        &spec.validate("VariableSetResource", &set),
        "$.Variables[2].Type",
        "is not one of",
    );
    Ok(())
}

#[test]
fn swagger_validator_catches_a_missing_required_field() -> TestResult {
    let spec = Spec::load()?;
    let mut deployment = fixture("deployment.json")?;
    if let Some(d) = deployment.as_object_mut() {
        d.remove("ReleaseId");
    }
    assert_one(
        &spec.validate("DeploymentResource", &deployment),
        "$.ReleaseId",
        "required property missing",
    );
    let mut process = fixture("deployment-process.json")?;
    process["Version"] = Value::Null;
    assert_one(
        &spec.validate("DeploymentProcessResource", &process),
        "$.Version",
        "required property is null",
    );
    let problems = spec.validate_schema(&error_schema(false), &fixture("error.json")?, &[]);
    assert_one(&problems, "$.Errors", "required property missing");
    let empty = json!({"ErrorMessage": "", "Errors": []});
    let problems = spec.validate_schema(&error_schema(false), &empty, &[]);
    assert_one(&problems, "$.ErrorMessage", "shorter than 1 characters");
    Ok(())
}

#[test]
fn swagger_validator_catches_a_bad_date() -> TestResult {
    let spec = Spec::load()?;
    for bad in [
        "Monday, March 20, 2017 9:00 PM",
        "2017-03-20 21:00:17.205+00:00",
        "2017-03-20T21:00:17.205",
        "2017-13-20T21:00:17.205+00:00",
        "2017-03-20T24:00:17+00:00",
        "2017-03-20T21:00:17.+00:00",
        "2017-03-20T21:00:17.205+0000",
        "2017-03-20",
    ] {
        let mut task = fixture("task.json")?;
        task["QueueTime"] = json!(bad);
        assert_one(
            &spec.validate("TaskResource", &task),
            "$.QueueTime",
            "is not an RFC 3339 date-time",
        );
    }
    let mut root = fixture("api-root.2019.7.12.json")?;
    root["InstallationId"] = json!("12345678-1234-1234-1234-12345678901Z");
    assert_one(
        &spec.validate("RootResource", &root),
        "$.InstallationId",
        "is not a uuid",
    );
    for good in [
        "2017-03-20T21:00:17.205+00:00",
        "2017-03-20T21:00:17Z",
        "2024-02-29T23:59:60.1234567-05:30",
    ] {
        assert!(is_date_time(good), "{good}");
    }
    Ok(())
}

#[test]
fn swagger_validator_accepts_only_the_two_wire_forms_of_property_values() -> TestResult {
    let spec = Spec::load()?;
    let with = |value: Value| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut process = fixture("deployment-process.json")?;
        process["Steps"][0]["Actions"][0]["Properties"]["Zonebridge.Token"] = value;
        Ok(spec.validate("DeploymentProcessResource", &process))
    };
    let at = "$.Steps[0].Actions[0].Properties[\"Zonebridge.Token\"]";
    assert_clean("a plain string", &with(json!("plain"))?);
    assert_clean(
        "a sensitive value read back",
        &with(json!({"HasValue": true, "NewValue": null}))?,
    );
    assert_clean(
        "a sensitive value with a hint",
        &with(json!({"HasValue": false, "NewValue": "x", "Hint": null}))?,
    );
    assert_one(
        &with(json!(true))?,
        at,
        "expected a string or a SensitiveValue",
    );
    assert_one(
        &with(json!({"HasValue": true, "NewValue": null, "Value": "x"}))?,
        &format!("{at}.Value"),
        "not declared in SensitiveValue",
    );
    assert_one(
        &with(json!({"HasValue": "yes", "NewValue": null}))?,
        &format!("{at}.HasValue"),
        "expected boolean, got string",
    );
    assert_one(
        &with(json!({"HasValue": true}))?,
        &format!("{at}.NewValue"),
        "required property missing",
    );
    Ok(())
}

#[test]
fn swagger_validator_lets_free_form_objects_through() -> TestResult {
    let spec = Spec::load()?;
    // `Control` has `properties: {}`: any members. A form's `Values` map takes nulls.
    let form = json!({
        "Values": {"Result": null, "Notes": "ok"},
        "Elements": [{"Name": "Result", "Control": {"Type": "SubmitButtonGroup", "Buttons": []}}]
    });
    assert_clean("a form", &spec.validate("Form", &form));
    // ... but the map's values are still checked, and `Control` must be an object.
    let form = json!({"Values": {"Result": 1}, "Elements": [{"Control": "Paragraph"}]});
    assert_eq!(
        spec.validate("Form", &form),
        vec![
            "$.Elements[0].Control: expected object, got string",
            "$.Values.Result: expected string, got number",
        ]
    );
    Ok(())
}

#[test]
fn swagger_allowances_match_any_array_index() -> TestResult {
    let spec = Spec::load()?;
    assert_eq!(
        generalise("$.Items[12].Steps[0].Links[\"Page.Next\"]"),
        "$.Items[*].Steps[*].Links[\"Page.Next\"]"
    );
    let page = json!({"Items": [{"Id": "ServerTasks-1", "IsStale": false}, {"IsStale": true}]});
    let definition = "ResourceCollection_of_TaskResource";
    assert_eq!(spec.validate(definition, &page).len(), 2);
    assert_clean(
        "allowed at every index",
        &spec.validate_allowing(definition, &page, &["$.Items[*].IsStale"]),
    );
    Ok(())
}

// ---- The validator agrees with real payloads ----------------------------------------------

/// Each payload fixture, its definition, and the properties it carries that the 2020.5 spec
/// does not declare (paths with `[*]` for any index). The list must be exact: each entry is
/// checked to be needed, so it cannot hide a new problem.
const PAYLOADS: &[(&str, &str, &[&str])] = &[
    ("task.json", "TaskResource", &[]),
    // The older envelope (Octopus 2017) has `IsStale`, which 2020.5 no longer declares.
    (
        "task-list.page0.json",
        "ResourceCollection_of_TaskResource",
        &["$.IsStale"],
    ),
    ("deployment-process.json", "DeploymentProcessResource", &[]),
    ("variable-set.json", "VariableSetResource", &[]),
    ("variable-set.scope-values.json", "VariableSetResource", &[]),
    // `SelectedGitResources` came with config-as-code Git resources (2023+), after 2020.5.
    (
        "release.json",
        "ReleaseResource",
        &["$.SelectedGitResources"],
    ),
    ("deployment.json", "DeploymentResource", &[]),
    ("api-root.2019.7.12.json", "RootResource", &[]),
];

#[test]
fn swagger_payload_fixtures_validate_against_their_definitions() -> TestResult {
    let spec = Spec::load()?;
    for (file, definition, allowed) in PAYLOADS {
        let payload = fixture(file)?;
        assert_clean(
            &format!("{file} as {definition}"),
            &spec.validate_allowing(definition, &payload, allowed),
        );
        // Every allowance is needed: without them, exactly those paths are reported.
        let mut undeclared: Vec<String> = spec
            .validate(definition, &payload)
            .iter()
            .filter_map(|p| p.split_once(": property not declared"))
            .map(|(path, _)| generalise(path))
            .collect();
        undeclared.sort();
        undeclared.dedup();
        let mut expected: Vec<String> = allowed.iter().map(|a| (*a).to_owned()).collect();
        expected.sort();
        assert_eq!(undeclared, expected, "the allow-list of {file}");
    }
    Ok(())
}

#[test]
fn swagger_error_fixtures_have_octopus_error_shape() -> TestResult {
    let spec = Spec::load()?;
    assert_clean(
        "error.400.json",
        &spec.validate_schema(&error_schema(false), &fixture("error.400.json")?, &[]),
    );
    // A 2022.4 server's 500 carries only `ErrorMessage`.
    assert_clean(
        "error.json",
        &spec.validate_schema(&error_schema(true), &fixture("error.json")?, &[]),
    );
    Ok(())
}

#[test]
fn swagger_paging_fixture_is_a_resource_collection() -> TestResult {
    let spec = Spec::load()?;
    // No `ResourceCollection_of_GitBranch…` in 2020.5; its envelope is the same as every
    // collection's, so check the envelope with an item schema that takes anything.
    let mut page = fixture("paged-collection.git-branches.json")?;
    page["Items"] = json!([]);
    assert_clean(
        "paged-collection.git-branches.json",
        &spec.validate("ResourceCollection_of_EnvironmentResource", &page),
    );
    Ok(())
}
