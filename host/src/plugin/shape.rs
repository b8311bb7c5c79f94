//! A component's shape: how many core instances, linear memories and tables instantiating it
//! creates, counted from its binary before anything is compiled into a store, and the store
//! caps derived from it under a fixed ceiling.
//!
//! Owns: the count (every core module instantiation, with the memories and tables that
//! module defines; nested components as often as they are instantiated) and the refusal of a
//! component over the ceiling ([`ShapeError`]). A Rust connector is 1–4 core instances, a
//! componentize-py one a dozen or so: the caps fit each component instead of one Rust-sized
//! constant. Module and component index spaces follow the binary's imports, aliases and
//! exports as well as its definitions, so an instantiation names the module it really
//! instantiates: an outer alias or a re-export carries that module's shape; an imported one,
//! or one aliased out of an instance, is of unknown shape and counts as an instance with no
//! memories or tables. Wasmtime still enforces the derived caps while instantiating
//! (`store_limits`), so what such a module really defines fails there, not silently.

use thiserror::Error;
use wasmparser::{
    ComponentAlias, ComponentExternalKind, ComponentInstance, ComponentOuterAliasKind,
    ComponentTypeRef, Instance, Parser, Payload,
};

use super::limits::StoreCaps;

/// What instantiating a component creates, at least.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    pub instances: usize,
    pub memories: usize,
    pub tables: usize,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.instances += other.instances;
        self.memories += other.memories;
        self.tables += other.tables;
    }
}

/// A component refused for its shape, before instantiation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShapeError {
    #[error(
        "it creates {count} core {what} when instantiated, over the host's ceiling of {ceiling}"
    )]
    OverCeiling {
        what: &'static str,
        count: usize,
        ceiling: usize,
    },
    #[error("its binary cannot be read for its shape: {0}")]
    Unreadable(String),
}

/// One module or component being read: what it defines so far.
enum Frame {
    Module(Shape),
    Component {
        /// Each core module's own memories and tables, by module index.
        modules: Vec<Shape>,
        /// Each nested component's whole shape, by component index.
        components: Vec<Shape>,
        total: Shape,
    },
}

impl Frame {
    fn modules(&self) -> Option<&Vec<Shape>> {
        match self {
            Frame::Component { modules, .. } => Some(modules),
            Frame::Module(_) => None,
        }
    }

    fn components(&self) -> Option<&Vec<Shape>> {
        match self {
            Frame::Component { components, .. } => Some(components),
            Frame::Module(_) => None,
        }
    }
}

/// A new entry in the current component's core module index space.
fn push_module(stack: &mut [Frame], shape: Shape) {
    if let Some(Frame::Component { modules, .. }) = stack.last_mut() {
        modules.push(shape)
    }
}

/// A new entry in the current component's component index space.
fn push_component(stack: &mut [Frame], shape: Shape) {
    if let Some(Frame::Component { components, .. }) = stack.last_mut() {
        components.push(shape)
    }
}

/// Counts `bytes` (a component or a core module, binary or text) as instantiating it once
/// would.
pub fn count(bytes: &[u8]) -> Result<Shape, ShapeError> {
    let bytes = wat::parse_bytes(bytes).map_err(|e| ShapeError::Unreadable(e.to_string()))?;
    let bytes: &[u8] = &bytes;
    let mut stack: Vec<Frame> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| ShapeError::Unreadable(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => stack.push(match encoding {
                wasmparser::Encoding::Module => Frame::Module(Shape::default()),
                wasmparser::Encoding::Component => Frame::Component {
                    modules: Vec::new(),
                    components: Vec::new(),
                    total: Shape::default(),
                },
            }),
            Payload::MemorySection(r) => {
                if let Some(Frame::Module(s)) = stack.last_mut() {
                    s.memories += r.count() as usize;
                }
            }
            Payload::TableSection(r) => {
                if let Some(Frame::Module(s)) = stack.last_mut() {
                    s.tables += r.count() as usize;
                }
            }
            Payload::InstanceSection(r) => {
                if let Some(Frame::Component { modules, total, .. }) = stack.last_mut() {
                    for instance in r {
                        let instance =
                            instance.map_err(|e| ShapeError::Unreadable(e.to_string()))?;
                        if let Instance::Instantiate { module_index, .. } = instance {
                            let module = modules.get(module_index as usize).copied();
                            total.add(Shape {
                                instances: 1,
                                ..module.unwrap_or_default()
                            });
                        }
                    }
                }
            }
            Payload::ComponentInstanceSection(r) => {
                if let Some(Frame::Component {
                    components, total, ..
                }) = stack.last_mut()
                {
                    for instance in r {
                        let instance =
                            instance.map_err(|e| ShapeError::Unreadable(e.to_string()))?;
                        if let ComponentInstance::Instantiate {
                            component_index, ..
                        } = instance
                        {
                            if let Some(c) = components.get(component_index as usize) {
                                total.add(*c);
                            }
                        }
                    }
                }
            }
            Payload::ComponentImportSection(r) => {
                for import in r {
                    let import = import.map_err(|e| ShapeError::Unreadable(e.to_string()))?;
                    match import.ty {
                        ComponentTypeRef::Module(_) => push_module(&mut stack, Shape::default()),
                        ComponentTypeRef::Component(_) => {
                            push_component(&mut stack, Shape::default())
                        }
                        _ => {}
                    }
                }
            }
            Payload::ComponentAliasSection(r) => {
                for alias in r {
                    let alias = alias.map_err(|e| ShapeError::Unreadable(e.to_string()))?;
                    match alias {
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Module,
                            ..
                        } => push_module(&mut stack, Shape::default()),
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Component,
                            ..
                        } => push_component(&mut stack, Shape::default()),
                        ComponentAlias::Outer { kind, count, index } => {
                            let outer = stack
                                .len()
                                .checked_sub(1 + count as usize)
                                .and_then(|at| stack.get(at));
                            let found = |pick: fn(&Frame) -> Option<&Vec<Shape>>| {
                                outer
                                    .and_then(pick)
                                    .and_then(|v| v.get(index as usize).copied())
                                    .unwrap_or_default()
                            };
                            match kind {
                                ComponentOuterAliasKind::CoreModule => {
                                    let s = found(Frame::modules);
                                    push_module(&mut stack, s)
                                }
                                ComponentOuterAliasKind::Component => {
                                    let s = found(Frame::components);
                                    push_component(&mut stack, s)
                                }
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
            }
            Payload::ComponentExportSection(r) => {
                // An export is a new index for what it exports.
                for export in r {
                    let export = export.map_err(|e| ShapeError::Unreadable(e.to_string()))?;
                    let at = export.index as usize;
                    match export.kind {
                        ComponentExternalKind::Module => {
                            let s = stack
                                .last()
                                .and_then(Frame::modules)
                                .and_then(|v| v.get(at).copied());
                            push_module(&mut stack, s.unwrap_or_default())
                        }
                        ComponentExternalKind::Component => {
                            let s = stack
                                .last()
                                .and_then(Frame::components)
                                .and_then(|v| v.get(at).copied());
                            push_component(&mut stack, s.unwrap_or_default())
                        }
                        _ => {}
                    }
                }
            }
            Payload::End(_) => {
                let done = stack.pop();
                let parent = stack.last_mut();
                match (done, parent) {
                    (Some(Frame::Module(s)), Some(Frame::Component { modules, .. })) => {
                        modules.push(s)
                    }
                    (
                        Some(Frame::Component { total, .. }),
                        Some(Frame::Component { components, .. }),
                    ) => components.push(total),
                    // The outermost: a core module alone is one instance of itself.
                    (Some(Frame::Module(s)), None) => return Ok(Shape { instances: 1, ..s }),
                    (Some(Frame::Component { total, .. }), None) => return Ok(total),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Err(ShapeError::Unreadable("the binary ends early".into()))
}

/// The store caps for a component of `shape`: exactly what it creates, refused past
/// `ceiling` (the host's fixed maximum, `PluginLimits::store`). Table elements are capped by
/// the ceiling's total either way.
pub fn caps_for(shape: Shape, ceiling: StoreCaps) -> Result<StoreCaps, ShapeError> {
    for (what, count, max) in [
        ("instances", shape.instances, ceiling.max_instances),
        ("memories", shape.memories, ceiling.max_memories),
        ("tables", shape.tables, ceiling.max_tables),
    ] {
        if count > max {
            return Err(ShapeError::OverCeiling {
                what,
                count,
                ceiling: max,
            });
        }
    }
    Ok(StoreCaps {
        max_instances: shape.instances.max(1),
        max_memories: shape.memories,
        max_tables: shape.tables,
        max_table_elements: ceiling.max_table_elements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }

    #[test]
    fn instances_memories_and_tables_are_counted_per_instantiation() {
        let bytes = wat(r#"(component
            (core module $a (memory 1) (table 1 funcref))
            (core module $b (memory 0) (memory 0))
            (core module $c)
            (core instance (instantiate $a))
            (core instance (instantiate $b))
            (core instance (instantiate $c))
            (core instance (instantiate $c))
            (component $inner
              (core module $d (table 0 funcref))
              (core instance (instantiate $d)))
            (instance (instantiate $inner))
            (instance (instantiate $inner)))"#);
        assert_eq!(
            count(&bytes).unwrap(),
            Shape {
                instances: 6,
                memories: 3,
                tables: 3
            }
        );
    }

    #[test]
    fn aliased_imported_and_exported_modules_take_their_place_in_the_index_space() {
        // Module indices in `$inner`: 0 imported, 1 aliased from outside, 2 defined, 3 the
        // re-export of 2. Before the index spaces followed imports, aliases and exports, the
        // instances of 1, 2 and 3 read indices past `$inner`'s one defined module and counted
        // no memories (0 instead of 4).
        let bytes = wat(r#"(component
            (core module $mem (memory 1) (memory 1))
            (component $inner
              (import "m" (core module $imported))
              (alias outer 1 $mem (core module $aliased))
              (core module $two (memory 1))
              (core instance (instantiate $aliased))
              (core instance (instantiate $two))
              (export "again" (core module $two))
              (core instance (instantiate 3)))
            (instance (instantiate $inner (with "m" (core module $mem)))))"#);
        assert_eq!(
            count(&bytes).unwrap(),
            Shape {
                instances: 3,
                memories: 4,
                tables: 0
            }
        );
    }

    #[test]
    fn caps_fit_the_shape_and_stop_at_the_ceiling() {
        let ceiling = StoreCaps::default();
        let shape = Shape {
            instances: 12,
            memories: 2,
            tables: 5,
        };
        let caps = caps_for(shape, ceiling).unwrap();
        assert_eq!(
            (caps.max_instances, caps.max_memories, caps.max_tables),
            (12, 2, 5)
        );
        let over = Shape {
            instances: ceiling.max_instances + 1,
            ..shape
        };
        let err = caps_for(over, ceiling).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "it creates {} core instances when instantiated, over the host's ceiling of {}",
                ceiling.max_instances + 1,
                ceiling.max_instances
            )
        );
    }
}
