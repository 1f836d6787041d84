//! Every policy's `validate_settings` on settings objects built from its own
//! keys; `validate` must refuse exactly the settings it refuses.
#![no_main]
use gpu_policies_fuzz::SettingsM;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|settings: SettingsM| gpu_policies_fuzz::settings_structured(&settings));
