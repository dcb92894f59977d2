//! Reading the safetensors and JSON fixtures written by `tools/keras_reference.py`.

use crate::{Result, VerifyError};
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// An f32 tensor from a fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct FTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// All tensors of one safetensors fixture, plus its metadata.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Tensors by name.
    pub tensors: BTreeMap<String, FTensor>,
    /// `__metadata__`.
    pub metadata: HashMap<String, String>,
    /// Path, for error messages.
    pub path: String,
}

impl Fixture {
    /// Reads an all-F32 safetensors file.
    pub fn load(path: &Path) -> Result<Fixture> {
        let err = |reason: String| VerifyError::Fixture {
            path: path.into(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(e.to_string()))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(err(format!("{name}: dtype {:?}, expected F32", view.dtype())));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.insert(
                name,
                FTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(Fixture {
            tensors,
            metadata: header.metadata().clone().unwrap_or_default(),
            path: path.display().to_string(),
        })
    }

    /// The tensor `name`, or an error naming the file and the tensor.
    pub fn get(&self, name: &str) -> Result<&FTensor> {
        self.tensors.get(name).ok_or_else(|| VerifyError::Fixture {
            path: self.path.clone().into(),
            reason: format!("no tensor {name:?}"),
        })
    }

    /// A metadata value parsed as `T`.
    pub fn meta<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        self.metadata
            .get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| VerifyError::Fixture {
                path: self.path.clone().into(),
                reason: format!("metadata {key:?} missing or malformed"),
            })
    }
}

/// Reads and parses a JSON fixture.
pub fn load_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| VerifyError::Fixture {
        path: path.into(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| VerifyError::Fixture {
        path: path.into(),
        reason: e.to_string(),
    })
}
