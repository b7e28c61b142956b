import { pending } from './pending.js';

export const command = pending('render', '#2');
