//! Settings documents: parsing with errors that name the key, and the list
//! of keys a settings type accepts, read from its own `Deserialize` (so the
//! struct is the only place the keys are written).

use serde::de::{self, DeserializeOwned, Visitor};

/// Parses settings JSON into `T`, with a readable error that names the key
/// (`maxGpusPerPod: invalid type: string "two", expected u32`). An empty
/// payload or `null` means "no settings": the defaults.
pub fn parse<T: DeserializeOwned + Default>(json: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(json).map_err(|e| format!("settings are not UTF-8: {e}"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Ok(T::default());
    }
    // serde also fills structs from arrays; settings are always a mapping.
    if !trimmed.starts_with('{') {
        return Err("settings must be a mapping of keys to values".to_owned());
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = strip_position(&e.into_inner().to_string());
        if path.is_empty() || path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// serde_json appends ` at line 1 column 17`; in a one-line settings
/// document that only adds noise.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

/// The keys a settings struct accepts, as serde names them (after
/// `rename_all`), in declaration order. Empty for a type that is not a
/// plain struct.
pub fn keys<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut probe = FieldProbe(&[]);
    // The probe always fails after recording the fields; the error is the
    // expected way out.
    let _ = T::deserialize(&mut probe);
    probe.0
}

/// A deserializer that answers `deserialize_struct` by recording the
/// struct's field names, and refuses everything else.
struct FieldProbe(&'static [&'static str]);

#[derive(Debug)]
struct Probed;

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<M: std::fmt::Display>(_msg: M) -> Self {
        Probed
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldProbe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Probed> {
        self.0 = fields;
        Err(Probed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Demo {
        max_gpus_per_pod: Option<u32>,
        names: Vec<String>,
    }

    #[test]
    fn keys_come_from_the_struct() {
        assert_eq!(keys::<Demo>(), ["maxGpusPerPod", "names"]);
        assert!(keys::<u32>().is_empty());
    }
}
