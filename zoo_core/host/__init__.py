"""The plugin host: hook specifications, the per-agent plugin manager, recipes, configuration and the
session that turns a recipe and an env id into a configured agent. Plugins reach it through
:mod:`zoo_core.api`."""
