//! shimmer-macros: `#[shimmer::main]`.
//!
//! Why a proc macro at all: a unikernel's `main` is the same source on every
//! backend, but what runs it differs — a Unix process needs `fn main()` that
//! parses argv and runs an epoll executor; a Xen image has no `main` at all
//! but a PVH entry point, an allocator and a panic handler. The attribute
//! only checks the function and hands it, with the unikernel's declared
//! options, to `shimmer::__main_glue!`, a `macro_rules!` macro that the
//! facade defines once per backend feature (a proc macro cannot see the
//! features of the crate that re-exports it).
//!
//! ```ignore
//! #[shimmer::main(options(port = "TCP port to listen on (default 7)"))]
//! async fn main() -> Result<(), shimmer::Error> {
//!     let port: u16 = shimmer::args().parse_or("port", 7);
//!     # Ok(())
//! }
//! ```

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote_spanned;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitStr, Token};

/// Marks the unikernel's entry point: `async fn main()` returning `()` or
/// `Result<(), E>` with `E: Display` (an `Err` is printed and the program
/// exits with status 1).
///
/// Options of the unikernel's own are declared in the attribute, each with
/// its help text: `#[shimmer::main(options(port = "TCP port", block_size =
/// "bytes per request"))]` declares `--port VALUE` and `--block-size VALUE`
/// (an underscore in the name becomes a dash). The runtime parses them with
/// its own options before `main` starts; read them with `shimmer::args()`.
///
/// `ready = "manual"` is for a unikernel that serves: the runtime then does
/// not print `shimmer: ready` when `main` starts, and the unikernel calls
/// `shimmer::ready()` once it accepts requests (the Xen test bed starts its
/// clients on that line). The default, `ready = "main"`, prints it when
/// `main` starts.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.clone().into()) {
        Ok(tokens) => tokens.into(),
        Err(err) => {
            // Report only our error: also give the program an empty `main`
            // so rustc does not add "`main` function not found".
            let err = err.to_compile_error();
            let named_main = syn::parse::<ItemFn>(item).is_ok_and(|f| f.sig.ident == "main");
            if named_main {
                quote::quote!(#err fn main() {}).into()
            } else {
                err.into()
            }
        }
    }
}

/// One declared option: `name = "help"`.
struct OptionDecl {
    name: String,
    help: LitStr,
}

impl Parse for OptionDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let ident: Ident = input.parse()?;
        let needs_help = || {
            syn::Error::new(
                ident.span(),
                format!("option `{ident}` needs its help text: `{ident} = \"what it does\"`"),
            )
        };
        input.parse::<Token![=]>().map_err(|_| needs_help())?;
        let help: LitStr = input.parse().map_err(|_| needs_help())?;
        let name = ident.to_string().replace('_', "-");
        if name.starts_with('-') || name.ends_with('-') {
            return Err(syn::Error::new(
                ident.span(),
                "an option name must not start or end with `_`",
            ));
        }
        Ok(OptionDecl { name, help })
    }
}

/// The attribute's arguments, comma-separated, each at most once:
/// `options(...)` and `ready = "main" | "manual"`.
struct MainArgs {
    options: Vec<OptionDecl>,
    /// `ready = "manual"`: the unikernel calls `shimmer::ready()` itself.
    manual_ready: bool,
}

const UNKNOWN_ARGUMENT: &str = "unknown argument: `#[shimmer::main]` takes `options(name = \"help\", ...)` and `ready = \"main\" | \"manual\"`";

impl Parse for MainArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = MainArgs {
            options: Vec::new(),
            manual_ready: false,
        };
        let (mut seen_options, mut seen_ready) = (false, false);
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            let twice =
                |what: &str| syn::Error::new(key.span(), format!("`{what}` is given twice"));
            if key == "options" {
                if seen_options {
                    return Err(twice("options"));
                }
                seen_options = true;
                let content;
                syn::parenthesized!(content in input);
                args.options = parse_options(&content)?;
            } else if key == "ready" {
                if seen_ready {
                    return Err(twice("ready"));
                }
                seen_ready = true;
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse()?;
                args.manual_ready = match value.value().as_str() {
                    "main" => false,
                    "manual" => true,
                    _ => {
                        return Err(syn::Error::new(
                            value.span(),
                            "`ready` is \"main\" (the runtime prints `shimmer: ready` when main starts, the default) or \"manual\" (the unikernel calls `shimmer::ready()`)",
                        ))
                    }
                };
            } else {
                return Err(syn::Error::new(key.span(), UNKNOWN_ARGUMENT));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// The inside of `options(...)`: checked for reserved and duplicate names.
fn parse_options(content: ParseStream) -> syn::Result<Vec<OptionDecl>> {
    let decls: Punctuated<OptionDecl, Token![,]> =
        content.parse_terminated(OptionDecl::parse, Token![,])?;
    let mut options: Vec<OptionDecl> = Vec::new();
    for decl in decls {
        if RESERVED.contains(&decl.name.as_str()) {
            return Err(syn::Error::new(
                decl.help.span(),
                format!(
                    "`--{}` is one of shimmer's own options; choose another name",
                    decl.name
                ),
            ));
        }
        if options.iter().any(|o| o.name == decl.name) {
            return Err(syn::Error::new(
                decl.help.span(),
                format!("`--{}` is declared twice", decl.name),
            ));
        }
        options.push(decl);
    }
    Ok(options)
}

/// The runtime's own options (the facade's `config` module parses them).
const RESERVED: &[&str] = &["net", "tap", "ipv4", "ipv4-gateway", "block", "log", "help"];

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args: MainArgs = syn::parse2(attr)?;
    let func: ItemFn = syn::parse2(item)?;
    check_signature(&func)?;

    let attrs = &func.attrs;
    let vis = &func.vis;
    let output = &func.sig.output;
    let body = &func.block;
    let names = args.options.iter().map(|o| &o.name);
    let helps = args.options.iter().map(|o| &o.help);
    let manual_ready = args.manual_ready;
    let span = func.sig.ident.span();
    Ok(quote_spanned! {span=>
        ::shimmer::__main_glue! {
            options: &[#(::shimmer::config::OptionSpec { name: #names, help: #helps }),*],
            manual_ready: #manual_ready,
            main: {
                #(#attrs)*
                #vis async fn __shimmer_user_main() #output #body
            }
        }
    })
}

fn check_signature(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    let err = |span: Span, msg: &str| Err(syn::Error::new(span, msg));
    if sig.asyncness.is_none() {
        return err(
            sig.fn_token.span(),
            "`#[shimmer::main]` goes on an `async fn main()`: add `async`",
        );
    }
    if sig.ident != "main" {
        return err(
            sig.ident.span(),
            "`#[shimmer::main]` goes on the program's `main` function",
        );
    }
    if !sig.inputs.is_empty() {
        return err(
            sig.inputs.span(),
            "`main` takes no arguments: declare options with `#[shimmer::main(options(name = \"help\"))]` and read them with `shimmer::args()`",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return err(sig.generics.span(), "`main` cannot be generic");
    }
    if let Some(unsafety) = &sig.unsafety {
        return err(unsafety.span(), "`main` cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        return err(abi.span(), "`main` cannot declare an ABI");
    }
    if sig.variadic.is_some() {
        return err(sig.span(), "`main` takes no arguments");
    }
    Ok(())
}
