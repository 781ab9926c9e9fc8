/** The events area's texts, pt-BR first; en must have the same keys (checked by tsc). */
export const ptBR = {
  title: "Eventos",
};

export const en: typeof ptBR = {
  title: "Events",
};
