// The secret box moved to src/sqlite (secrets at rest serve every store: the authority's and the station's).
export { createSecretBox, loadOrCreateMasterKey, type SecretBox } from '../sqlite/secret-box.js';
