//! TODO
use crate::{Check, Ctx, Finding};
pub struct RdnsCheck;
#[async_trait::async_trait]
impl Check for RdnsCheck {
    fn id(&self) -> &'static str { "rdns" }
    fn title(&self) -> &'static str { "rdns" }
    async fn run(&self, _ctx: &Ctx) -> Vec<Finding> { Vec::new() }
}
