/**
 * The pipelines list: name filter in the URL (``?q=``), each pipeline's state and deployed version,
 * and, for operators, a new pipeline by name (it opens in the builder).
 */
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE, formatDateTime } from "@/lib/format";
import { organizationSettings } from "@/pages/dashboard-queries";

import { EMPTY_GRAPH } from "./graph";
import { StateBadge } from "./parts";
import { ApiProblem, createPipeline, pipelineQueries } from "./queries";
import { pipelinesRoute } from "./route";

export function PipelinesPage() {
  const { t, i18n } = useTranslation();
  const { q } = pipelinesRoute.useSearch();
  const navigate = useNavigate({ from: pipelinesRoute.fullPath });
  const canEdit = useCan("operator");
  const list = useQuery(pipelineQueries.list(q ?? ""));
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const pipeline = await createPipeline(name.trim(), EMPTY_GRAPH);
      await navigate({ to: "/pipelines/$id", params: { id: pipeline.id } });
    } catch (error) {
      setProblem(error instanceof ApiProblem ? Object.values(error.fields).flat().join(" ") || error.message : String(error));
    }
  };

  return (
    <main className="mx-auto flex max-w-5xl flex-col gap-4 p-4">
      <h1 className="text-xl font-semibold">{t("pipelines.title")}</h1>
      <div className="flex flex-wrap items-end gap-4">
        <div className="flex min-w-48 flex-1 flex-col gap-1">
          <Label htmlFor="pipelines-search">{t("pipelines.list.search")}</Label>
          <Input id="pipelines-search" type="search" defaultValue={q ?? ""}
            onChange={(e) => void navigate({ search: e.target.value.trim() ? { q: e.target.value } : {}, replace: true })} />
        </div>
        {canEdit && (
          <form className="flex flex-wrap items-end gap-2" onSubmit={(e) => void create(e)}>
            <div className="flex flex-col gap-1">
              <Label htmlFor="pipeline-new-name">{t("pipelines.list.newName")}</Label>
              <Input id="pipeline-new-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)}
                aria-invalid={problem ? true : undefined} aria-describedby={problem ? "pipeline-new-problem" : undefined} />
            </div>
            <Button type="submit" disabled={!name.trim()}>{t("pipelines.list.create")}</Button>
          </form>
        )}
      </div>
      {problem && <p id="pipeline-new-problem" role="alert" className="text-sm text-destructive">{problem}</p>}
      {list.isError ? (
        <p role="alert" className="text-sm text-destructive">{t("pipelines.list.failed")}</p>
      ) : !list.data ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("pipelines.list.loading")}</p>
      ) : list.data.results.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t("pipelines.list.empty")}</p>
      ) : (
        <div className="overflow-x-auto rounded-md border">
          <table className="w-full text-sm">
            <thead className="bg-muted text-left">
              <tr>
                <th scope="col" className="p-2">{t("pipelines.list.name")}</th>
                <th scope="col" className="p-2">{t("pipelines.list.state")}</th>
                <th scope="col" className="p-2">{t("pipelines.list.deployed")}</th>
                <th scope="col" className="hidden p-2 sm:table-cell">{t("pipelines.list.updated")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((pipeline) => (
                <tr key={pipeline.id} className="border-t">
                  <td className="p-2">
                    <Link to="/pipelines/$id" params={{ id: pipeline.id }} className="font-medium underline-offset-2 hover:underline">
                      {pipeline.name}
                    </Link>
                  </td>
                  <td className="p-2"><StateBadge state={pipeline.state} /></td>
                  <td className="p-2 tabular-nums">{pipeline.deployed_version ? `v${pipeline.deployed_version}` : "—"}</td>
                  <td className="hidden p-2 tabular-nums sm:table-cell">{formatDateTime(pipeline.updated_at, timeZone, i18n.language)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
