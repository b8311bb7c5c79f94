use boxoffice::model::RunContext;
use boxoffice::plugin::{PluginLimits, PluginRuntime, Pseudonymizer};
use std::sync::Arc;

const SHELL: &str = include_str!("wat/connector_shell.wat");

#[tokio::test]
async fn shell_loads() {
    let rt = PluginRuntime::new(PluginLimits::default(), None).unwrap();
    let p = rt.load("shell", SHELL.as_bytes()).await.unwrap();
    println!("{:?} {:?} {:?}", p.manifest, p.imports, p.exports);
    let mut inst = p.instantiate(Arc::new(Pseudonymizer::new([1; 32]))).await.unwrap();
    let c = RunContext { account: "a".into(), settings: vec![("x".into(), "y".into())], cursor: Some("c".into()), now_ms: 5, ..Default::default() };
    let r = inst.begin(&c).await.unwrap();
    println!("{r:?}");
    let no_contract = SHELL.replace("(import \"boxoffice:connector/types@0.2.0\" (instance))", "");
    let p2 = rt.load("shell2", no_contract.as_bytes()).await;
    println!("nocontract: {:?}", p2.map(|p| p.imports));
    let many = SHELL.replace(";;@MODULE-EXTRA", "(memory 1600) (memory 1600) (memory 1600) (memory 1600)");
    let p3 = rt.load("shell3", many.as_bytes()).await;
    println!("many: {:?}", p3.map(|p| p.imports));
}
