import { pending } from './pending.js';

export const command = pending('watch', '#5');
