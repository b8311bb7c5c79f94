//! A component's shape: how many core instances, linear memories and tables instantiating it
//! creates, counted from its binary before anything is compiled into a store, and the store
//! caps derived from it under a fixed ceiling.
//!
//! Owns: the count (every core module instantiation, with the memories and tables that
//! module defines; nested components as often as they are instantiated) and the refusal of a
//! component over the ceiling ([`ShapeError`]). A Rust connector is 1–4 core instances, a
//! componentize-py one a dozen or so: the caps fit each component instead of one Rust-sized
//! constant. Wasmtime still enforces the derived caps while instantiating (`store_limits`), so
//! a shape this count misses (an aliased or imported core module) fails there, not silently.

use thiserror::Error;
use wasmparser::{ComponentInstance, Instance, Parser, Payload};

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
