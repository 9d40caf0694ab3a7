"""The settings of each component, one module per component (as in wmx/components/):
what its section of wmx.yaml may say. wmx.site.model composes them into `SiteConfig`."""
