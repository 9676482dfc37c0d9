//! TODO
use crate::{Check, Ctx, Finding};
pub struct MxCheck;
#[async_trait::async_trait]
impl Check for MxCheck {
    fn id(&self) -> &'static str { "mx" }
    fn title(&self) -> &'static str { "mx" }
    async fn run(&self, _ctx: &Ctx) -> Vec<Finding> { Vec::new() }
}
