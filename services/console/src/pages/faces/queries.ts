/**
 * What the faces pages read from control and change there: enrolled people (admins), a photo
 * upload (multipart), erasure, the export (a JSON download), the face search over sightings
 * (operators and admins) and the organization's face settings.
 */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { api } from "@/app";
import { cursorOf } from "@/pages/plates/queries";
import { orRefusal, refusal } from "@/pages/settings/queries";

import { apiQuery, type FaceSearch, type PersonDraft } from "./filters";

export type Person = components["schemas"]["EnrolledPerson"];
export type Sighting = components["schemas"]["FaceSighting"];
export type FacesSettings = components["schemas"]["FacesSettings"];

export const people = queryOptions({
  queryKey: ["faces", "people"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/faces/people/", { params: { query: { limit: 500 } } }))).results,
});

export function sightings(search: FaceSearch) {
  return infiniteQueryOptions({
    queryKey: ["faces", "matches", search],
    queryFn: ({ pageParam }) => unwrap(api.GET("/api/v1/faces/matches/", {
      params: { query: { ...apiQuery(search), limit: 50, cursor: pageParam } },
    })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => cursorOf(page.next),
  });
}

/** A person's most recent sightings (the enrolment page's "recent matches"). */
export function recentMatches(person: string) {
  return queryOptions({
    queryKey: ["faces", "matches", "recent", person],
    queryFn: async () => (await unwrap(api.GET("/api/v1/faces/matches/", {
      params: { query: { person, limit: 5 } },
    }))).results,
  });
}

export const facesSettings = queryOptions({
  queryKey: ["faces", "settings"],
  queryFn: () => unwrap(api.GET("/api/v1/faces/settings")),
});

export function enrol(draft: PersonDraft) {
  return orRefusal(api.POST("/api/v1/faces/people/", { body: draft }));
}

export function erase(person: string) {
  return orRefusal(api.DELETE("/api/v1/faces/people/{id}/", { params: { path: { id: person } } }));
}

/** Upload one photo of ``person``; control's refusal (a 400 naming ``image``) is thrown as its words. */
export async function uploadPhoto(person: string, file: File) {
  const form = new FormData();
  form.append("image", file);
  return orRefusal(api.POST("/api/v1/faces/people/{id}/photos/", {
    params: { path: { id: person } },
    body: form as unknown as { image: string },
  }));
}

export function saveFacesSettings(body: FacesSettings) {
  return orRefusal(api.PATCH("/api/v1/faces/settings", { body }));
}

/** Everything held about ``person`` (their photos too), saved by the browser as ``fileName``. */
export async function downloadExport(person: string, fileName: string): Promise<void> {
  const { data, error, response } = await api.GET("/api/v1/faces/people/{id}/export/", {
    params: { path: { id: person } }, parseAs: "blob",
  });
  if (error !== undefined || !(data instanceof Blob)) throw new Error(refusal(error, response.status));
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
