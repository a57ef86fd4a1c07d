"""Configuration: structured-config schemas, validation, and composing configs from code.

Importing this package registers every schema in Hydra's ConfigStore; every entry point imports it
before Hydra composes, and calls :func:`validate` before any work.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from asktoact.config.help import help_template
from asktoact.config.schema import register
from asktoact.config.validate import ConfigError, validate
from asktoact.configurable import NOT_IDENTITY, RESUMABLE
from asktoact.data.sources.bfcl import data_folder
from asktoact.identity import marked_keys, overrides_tag
from asktoact.paths import CONF_DIR

register()
# Used by conf/hydra/default.yaml to name run folders.
OmegaConf.register_new_resolver("overrides_tag", overrides_tag, replace=True)
# conf/hydra/default.yaml's help template: the groups of the running entry point only.
OmegaConf.register_new_resolver("asktoact_help", help_template, replace=True)
# lr_rank_search: LoRA's alpha follows the searched rank (alpha = 2 r).
OmegaConf.register_new_resolver("times", lambda a, b: a * b, replace=True)
# conf/data/bfcl.yaml: the shared BFCL folder, or the data inside the installed bfcl-eval package.
OmegaConf.register_new_resolver("bfcl_data", data_folder, replace=True)
OmegaConf.register_new_resolver(
    "coalesce", lambda *values: next((v for v in values if v is not None), None), replace=True
)


def run_folder_free_keys(_root_: DictConfig) -> list[str]:
    """The keys a run folder's name leaves out (Hydra's ``override_dirname.exclude_keys``): those
    marked ``identity=False`` or ``"resumable"`` in the schemas, so a run resumed with another
    cache, logger or length continues in its folder."""
    return [*marked_keys(_root_, (NOT_IDENTITY, RESUMABLE)), "hydra.run.dir"]


# Used by conf/hydra/default.yaml: the overrides a run folder's name leaves out.
OmegaConf.register_new_resolver("run_folder_free_keys", run_folder_free_keys, replace=True)


def compose(
    name: str, overrides: list[str] | tuple[str, ...] = (), hydra_config: bool = False
) -> DictConfig:
    """The primary config ``name`` with ``overrides``, as its entry point would see it, validated.

    Works inside a running Hydra app (a job composing its generate/train/evaluate steps) and
    outside one (tests, benchmarks, notebooks). ``hydra_config`` adds the ``hydra`` node (sweeper,
    launcher) as ``--cfg hydra`` would show it.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    kw = {"overrides": list(overrides), "return_hydra_config": hydra_config}
    if GlobalHydra.instance().is_initialized():
        return validate(hydra_compose(name, **kw))
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return validate(hydra_compose(name, **kw))


__all__ = ["ConfigError", "compose", "validate", "CONF_DIR"]
