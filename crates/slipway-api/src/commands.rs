//! The handlers: one plain function per command declared in `for_each_command!`, each taking the
//! [`Context`] and its argument struct.
//!
//! Owns: what each command does with the store and the file system. Never: keep state of its own
//! between calls, or store any part of a recipe file that has errors.

use std::path::Path;

use slipway_recipe::{
    check, to_yaml, validate, DiagnosticView, Recipe, SourceMap, ValidateOptions,
};

use crate::args::*;
use crate::dto::{
    CloudsListing, DiffChunk, ImportResult, ModuleBody, ModuleSummary, ModuleVersion, VersionInfo,
};
use crate::error::{CommandError, ErrorCode};
use crate::Context;

pub fn library_list(
    ctx: &Context,
    args: LibraryListArgs,
) -> Result<Vec<ModuleSummary>, CommandError> {
    let query = args.query.unwrap_or_default();
    let found = ctx.store().list_modules(args.kind, &query)?;
    Ok(found.into_iter().map(ModuleSummary::from).collect())
}

pub fn library_get(ctx: &Context, args: LibraryGetArgs) -> Result<ModuleVersion, CommandError> {
    let found = ctx.store().module(args.kind, &args.name, args.version)?;
    found.map(ModuleVersion::from).ok_or_else(|| {
        let which = match args.version {
            Some(v) => format!("version {v} of {} `{}`", args.kind, args.name),
            None => format!("{} `{}`", args.kind, args.name),
        };
        CommandError::new(
            ErrorCode::StoreNotFound,
            format!("there is no {which} in the library"),
        )
    })
}

pub fn library_save(ctx: &Context, args: LibrarySaveArgs) -> Result<u32, CommandError> {
    let body = ModuleBody::from_json(args.kind, args.body)?;
    let saved =
        ctx.store()
            .save_module(&args.name, &body.into(), args.comment.as_deref(), ctx.now())?;
    Ok(saved.version)
}

pub fn library_history(
    ctx: &Context,
    args: LibraryHistoryArgs,
) -> Result<Vec<VersionInfo>, CommandError> {
    let versions = ctx.store().history(args.kind, &args.name)?;
    Ok(versions.into_iter().map(VersionInfo::from).collect())
}

pub fn library_diff(ctx: &Context, args: LibraryDiffArgs) -> Result<Vec<DiffChunk>, CommandError> {
    let rows = ctx.store().diff(args.kind, &args.name, args.a, args.b)?;
    Ok(rows.into_iter().map(DiffChunk::from).collect())
}

pub fn library_restore(ctx: &Context, args: LibraryRestoreArgs) -> Result<u32, CommandError> {
    let restored = ctx.store().restore(
        args.kind,
        &args.name,
        args.version,
        args.comment.as_deref(),
        ctx.now(),
    )?;
    Ok(restored.version)
}

pub fn deployment_open(ctx: &Context, args: DeploymentOpenArgs) -> Result<Recipe, CommandError> {
    Ok(ctx.store().export_recipe(&args.name, args.version)?)
}

/// Saves in one transaction: the deployment, its components and images; unchanged modules make
/// no version. A recipe with problems may be saved (work in progress is never lost); names the
/// store cannot hold are refused.
pub fn deployment_save(ctx: &Context, args: DeploymentSaveArgs) -> Result<u32, CommandError> {
    let saved = ctx
        .store()
        .import_recipe(&args.recipe, args.comment.as_deref(), ctx.now())?;
    let deployment = saved
        .iter()
        .find(|m| m.kind == slipway_store::ModuleKind::Deployment)
        .expect("an import saves the deployment");
    Ok(deployment.version)
}

pub fn recipe_validate(
    _ctx: &Context,
    args: RecipeValidateArgs,
) -> Result<Vec<DiagnosticView>, CommandError> {
    Ok(problems_of(&args.recipe))
}

/// The validator of `slipway validate`, run on the model: no file, so no positions.
fn problems_of(recipe: &Recipe) -> Vec<DiagnosticView> {
    validate(recipe, &SourceMap::default(), &ValidateOptions::default())
        .iter()
        .map(DiagnosticView::from)
        .collect()
}

/// Writes the file only when the text to be written passes `slipway validate` (its shape and
/// every rule between its parts). The file is replaced whole, never left half-written.
pub fn recipe_export(_ctx: &Context, args: RecipeExportArgs) -> Result<(), CommandError> {
    let text = to_yaml(&args.recipe);
    let checked = check(&text, &ValidateOptions::default());
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    if let Some(first) = errors.first() {
        let more = match errors.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(CommandError::new(
            ErrorCode::RecipeInvalid,
            format!(
                "the recipe has errors, so it was not exported: {}{more}",
                first.message
            ),
        ));
    }
    write_whole(Path::new(&args.path), &text)
}

fn write_whole(path: &Path, text: &str) -> Result<(), CommandError> {
    let fail = |e: std::io::Error| {
        CommandError::new(
            ErrorCode::FileWrite,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| fail(std::io::Error::other("not a file name")))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(".slipway-tmp");
    let temp = path.with_file_name(temp_name);
    std::fs::write(&temp, text).map_err(fail)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        fail(e)
    })
}

/// Checks the file like `slipway validate`; only a file without errors reaches the library, in
/// one transaction, as new versions of the modules it changes.
pub fn recipe_import(ctx: &Context, args: RecipeImportArgs) -> Result<ImportResult, CommandError> {
    let path = Path::new(&args.path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        CommandError::new(
            ErrorCode::FileRead,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let checked = check(&text, &ValidateOptions::default());
    let problems: Vec<DiagnosticView> = checked
        .diagnostics
        .iter()
        .map(DiagnosticView::from)
        .collect();
    let Some(recipe) = checked.valid_recipe() else {
        return Ok(ImportResult {
            ok: false,
            problems,
            recipe: None,
        });
    };
    let file_name = path
        .file_name()
        .map_or_else(|| args.path.clone(), |n| n.to_string_lossy().into_owned());
    let comment = format!("imported from {file_name}");
    ctx.store()
        .import_recipe(recipe, Some(&comment), ctx.now())?;
    Ok(ImportResult {
        ok: true,
        problems,
        recipe: Some(recipe.clone()),
    })
}

pub fn app_initial_file(
    ctx: &Context,
    _args: AppInitialFileArgs,
) -> Result<Option<String>, CommandError> {
    Ok(ctx
        .initial_file
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned()))
}

pub fn clouds_list(ctx: &Context, _args: CloudsListArgs) -> Result<CloudsListing, CommandError> {
    let store = ctx.store();
    let keychain = slipway_clouds::keychain_of(&store);
    let (clouds, mut keychain_error) = slipway_clouds::list_clouds(&store, &keychain)?;
    // No configured cloud has a secret to look at: ask the keychain anyway, so the page can warn
    // before the user types one.
    if keychain_error.is_none() {
        keychain_error = keychain.probe().err().map(|e| e.to_string());
    }
    Ok(CloudsListing {
        clouds,
        kinds: slipway_clouds::kind_infos(),
        keychain_error,
    })
}

pub fn cloud_save(ctx: &Context, args: CloudSaveArgs) -> Result<(), CommandError> {
    let at = ctx.now();
    let given: Vec<(String, String)> = args
        .settings
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    slipway_clouds::configure_cloud(
        &mut ctx.store(),
        &args.name,
        &args.kind,
        &given,
        args.replace,
        at,
    )?;
    Ok(())
}

pub fn cloud_remove(ctx: &Context, args: CloudRemoveArgs) -> Result<(), CommandError> {
    let mut store = ctx.store();
    let keychain = slipway_clouds::keychain_of(&store);
    slipway_clouds::remove_cloud(&mut store, &keychain, &args.name)?;
    Ok(())
}

pub fn cloud_secret_set(ctx: &Context, args: CloudSecretSetArgs) -> Result<(), CommandError> {
    let store = ctx.store();
    slipway_clouds::secret_setting(&store, &args.cloud, &args.key)?;
    if args.value.is_empty() {
        return Err(CommandError::new(
            ErrorCode::CloudInvalid,
            format!("the value of `{}` is empty", args.key),
        ));
    }
    let value = slipway_secrets::Secret::new(args.value);
    slipway_clouds::keychain_of(&store).set(&args.cloud, &args.key, &value)?;
    Ok(())
}

pub fn cloud_secret_remove(ctx: &Context, args: CloudSecretRemoveArgs) -> Result<(), CommandError> {
    let store = ctx.store();
    slipway_clouds::secret_setting(&store, &args.cloud, &args.key)?;
    slipway_clouds::keychain_of(&store).remove(&args.cloud, &args.key)?;
    Ok(())
}

pub fn cloud_test(
    ctx: &Context,
    args: CloudTestArgs,
) -> Result<slipway_clouds::CloudTest, CommandError> {
    let store = ctx.store();
    let keychain = slipway_clouds::keychain_of(&store);
    Ok(slipway_clouds::test_cloud(&store, &keychain, &args.name)?)
}
