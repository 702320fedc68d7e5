//! `test-future-abi`: a root module that reports `INTERFACE_VERSION + 1`, as a plugin built
//! against a newer cpbench-plugin-api would. Its layout matches, so abi_stable loads it; the
//! host must refuse it on the version number, with a message naming both versions.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RErr, RResult, RStr, RString};
use cpbench_plugin_api::{INTERFACE_VERSION, PluginRootMod, PluginRootMod_Ref, RepresentationBox};

extern "C" fn abi_version() -> u32 {
    INTERFACE_VERSION + 1
}

extern "C" fn name() -> RString {
    "test-future-abi".into()
}

extern "C" fn version() -> RString {
    env!("CARGO_PKG_VERSION").into()
}

extern "C" fn new(_config_json: RStr<'_>) -> RResult<RepresentationBox, RString> {
    RErr("test-future-abi: `new` must never be reached; the interface check should refuse this plugin".into())
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    PluginRootMod {
        abi_version,
        name,
        version,
        new,
    }
    .leak_into_prefix()
}
