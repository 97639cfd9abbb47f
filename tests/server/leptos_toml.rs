//! Leptos.toml is what the deployed binary reads; cargo-leptos reads Cargo.toml.
//! The keys they share must agree.

fn leptos_table(path: &str) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    doc["package"]["metadata"]["leptos"]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn leptos_toml_agrees_with_cargo_toml() {
    let cargo = leptos_table("Cargo.toml");
    let runtime = leptos_table("Leptos.toml");
    for (key, value) in &runtime {
        if key == "env" {
            continue; // DEV under cargo-leptos, PROD when deployed: different on purpose
        }
        assert_eq!(
            Some(value),
            cargo.get(key),
            "Leptos.toml's {key} differs from Cargo.toml's"
        );
    }
    for key in ["output-name", "site-root", "site-pkg-dir", "site-addr"] {
        assert!(runtime.contains_key(key), "Leptos.toml lacks {key}");
    }
}
