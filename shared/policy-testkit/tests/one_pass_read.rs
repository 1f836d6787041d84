//! The request envelope is read in one pass (the object with it); whatever
//! that pass cannot read is read again the plain way. On generated requests
//! (every kind and operation, broken objects included) both reads must give
//! the same object, or the same violation, and the same raw object text.

use gpu_policy_core::Admitted;
use gpu_policy_core::request::ValidationPayload;
use policy_testkit::strategies::admission_request;
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #[test]
    fn one_pass_and_plain_reads_agree(request in admission_request()) {
        let text = json!({"request": request, "settings": {}}).to_string();
        let plain: ValidationPayload = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let one_pass = ValidationPayload::parse(text.as_bytes())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(plain.request.object_json(), one_pass.request.object_json());
        prop_assert_eq!(
            format!("{:?}", Admitted::from_request(&plain.request)),
            format!("{:?}", Admitted::from_request(&one_pass.request))
        );
    }
}
