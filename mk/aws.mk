# AWS client (SSM and STS): libxml2 for STS replies, and the integration step.
PKG_MODULES += libxml-2.0
