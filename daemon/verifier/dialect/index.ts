/** bpftrace dialects: profiles per version, choosing one, and the syntax each accepts. Pure. */
export { DEFAULT_DIALECT, PROFILES, annotationRules, profile, hasBuiltin, hasFunction, type Dialect, type IntegerModel } from './profiles.js';
export { nearestProfile, parseVersion, type ProfileChoice, type VersionNumber } from './version.js';
