import { pending } from './pending.js';

export const command = pending('up', '#5');
