/** The settings area's texts, pt-BR first; en must have the same keys (checked by tsc). */
export const ptBR = {
  title: "Configurações",
};

export const en: typeof ptBR = {
  title: "Settings",
};
