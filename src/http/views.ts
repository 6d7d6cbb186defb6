/**
 * Server-rendered pages with Eta (escapes every interpolation unless a template says `<%~`,
 * which ours use only for the layout's body). One instance per app; templates cached.
 */

import { Eta } from "eta";

export interface PageOptions {
  readonly title: string;
  readonly wide?: boolean;
  readonly signedInAs?: string;
}

export interface Views {
  page(template: string, data: Record<string, unknown>, options: PageOptions): string;
}

export function createViews(): Views {
  const eta = new Eta({
    views: new URL("./views", import.meta.url).pathname,
    autoEscape: true,
    cache: true,
  });
  return {
    page(template, data, options) {
      const body = eta.render(template, data);
      return eta.render("layout", { ...options, body });
    },
  };
}
