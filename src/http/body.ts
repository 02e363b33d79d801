/** The largest request body the admin API and the OAuth endpoints read: 16 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;
