/**
 * Modes of what a store writes: directories 0700 and files 0600. A store holds users' edits and
 * its lock names the daemon's control address, so no other account on the machine may read it.
 */
export const STORE_DIR_MODE = 0o700;
export const STORE_FILE_MODE = 0o600;
