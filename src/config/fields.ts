import { z } from 'zod';

/** A path in the config: relative ones resolve from the config file's folder. */
export const path = z.string().min(1);
/** A TCP port; 0 asks the system for a free one. */
export const port = z.number().int().min(0).max(65535);
