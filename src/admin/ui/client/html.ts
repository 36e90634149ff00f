import { h, type VNode } from "preact";
import htm from "htm";

/** JSX-like templates without a compile step: html`<p>${text}</p>` builds preact nodes. */
export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
