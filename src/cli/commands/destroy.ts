import { pending } from './pending.js';

export const command = pending('destroy', '#4');
