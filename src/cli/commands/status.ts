import { pending } from './pending.js';

export const command = pending('status', '#4');
