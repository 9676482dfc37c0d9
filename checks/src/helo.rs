//! TODO
use crate::{Check, Ctx, Finding};
pub struct HeloCheck;
#[async_trait::async_trait]
impl Check for HeloCheck {
    fn id(&self) -> &'static str { "helo" }
    fn title(&self) -> &'static str { "helo" }
    async fn run(&self, _ctx: &Ctx) -> Vec<Finding> { Vec::new() }
}
