"""Reports' writes, one module per section (Zulip's zerver/actions/)."""
