//! Alert thresholds: `{"water_level": {"level_cm": {"gt": 300}}, "flow": {"m3s": {"lt": 0.1}}}`.
//!
//! Per sensor type and value name, a reading alerts when its value is above `gt` or below `lt`.
//! The document comes from `THRESHOLDS` (or the SSM parameter `THRESHOLDS_PARAM`) and is
//! checked at start-up: a typo fails the deployment instead of silently never alerting.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The bounds for one value.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Alert when the value is greater than this.
    pub gt: Option<f64>,
    /// Alert when the value is less than this.
    pub lt: Option<f64>,
}

/// Sensor type → value name → bounds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Thresholds(BTreeMap<String, BTreeMap<String, Bounds>>);

/// The thresholds document is not valid.
#[derive(Debug, thiserror::Error)]
#[error("invalid thresholds document")]
pub struct ThresholdsError(#[source] serde_json::Error);

/// One breached bound.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Breach {
    /// The value's name (`level_cm`).
    pub value_name: String,
    /// The reading's value.
    pub value: f64,
    /// `gt` or `lt`.
    pub bound: &'static str,
    /// The threshold it crossed.
    pub threshold: f64,
}

impl Thresholds {
    /// Parses a thresholds document.
    pub fn parse(text: &str) -> Result<Self, ThresholdsError> {
        serde_json::from_str(text).map_err(ThresholdsError)
    }

    /// Every bound a reading of `sensor_type` with these fields breaches.
    pub fn breaches(&self, sensor_type: &str, reading: &Map<String, Value>) -> Vec<Breach> {
        let Some(limits) = self.0.get(sensor_type) else {
            return Vec::new();
        };
        let Some(values) = reading.get("values").and_then(|v| v.as_object()) else {
            return Vec::new();
        };
        let mut breaches = Vec::new();
        for (name, bounds) in limits {
            let Some(value) = values.get(name).and_then(|v| v.as_f64()) else {
                continue;
            };
            for (bound, threshold, crossed) in [
                ("gt", bounds.gt, bounds.gt.is_some_and(|t| value > t)),
                ("lt", bounds.lt, bounds.lt.is_some_and(|t| value < t)),
            ] {
                if let (true, Some(threshold)) = (crossed, threshold) {
                    breaches.push(Breach {
                        value_name: name.clone(),
                        value,
                        bound,
                        threshold,
                    });
                }
            }
        }
        breaches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reading(values: Value) -> Map<String, Value> {
        let value =
            json!({"sensorId": "S-1", "timestamp": "2026-11-20T10:00:00Z", "values": values});
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn values_beyond_either_bound_breach_and_values_at_the_bound_do_not() {
        let t =
            Thresholds::parse(r#"{"water_level": {"level_cm": {"gt": 300, "lt": 20}}}"#).unwrap();
        assert_eq!(
            t.breaches("water_level", &reading(json!({"level_cm": 301.0})))[0].bound,
            "gt"
        );
        assert_eq!(
            t.breaches("water_level", &reading(json!({"level_cm": 19.9})))[0].bound,
            "lt"
        );
        assert!(
            t.breaches("water_level", &reading(json!({"level_cm": 300.0})))
                .is_empty()
        );
        assert!(
            t.breaches("flow", &reading(json!({"level_cm": 999.0})))
                .is_empty(),
            "other types unaffected"
        );
    }

    #[test]
    fn a_document_with_an_unknown_bound_is_rejected() {
        assert!(Thresholds::parse(r#"{"flow": {"m3s": {"above": 3}}}"#).is_err());
        assert!(Thresholds::parse(r#"{"flow": 3}"#).is_err());
    }
}
