//! Rendering the report model: [`html`] (`index.html`, one module per section) and
//! [`markdown`] (`summary.md`); shared number formatting is `super::format`.

pub mod html;
pub mod markdown;
