/// Any `E: Display` will do (trybuild runs this, so it returns `Ok`).
#[shimmer::main]
async fn main() -> Result<(), &'static str> {
    let fine: Result<(), &'static str> = Ok(());
    fine
}
