/** The pipelines area's texts, pt-BR first; en must have the same keys (checked by tsc). */
export const ptBR = {
  title: "Automações",
};

export const en: typeof ptBR = {
  title: "Pipelines",
};
