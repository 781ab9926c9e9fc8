/**
 * Enrolment (admins): the organization's enrolled people, a form to enrol one (name and the consent
 * note the enrolment rests on), and for the chosen person their photos count, a photo upload
 * (control finds the one face in it and refuses, naming the image, a photo with none or several),
 * their recent sightings, the export of everything held about them, and erasure after a
 * confirmation. The chosen person is in the URL (``?person=``).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { cn } from "@/lib/utils";
import { cameraNames } from "@/pages/plates/queries";
import { Field, type Outcome, OutcomeLine, useTimeZone } from "@/pages/settings/parts";

import { FacesNav } from "./FacesNav";
import { checkPerson, type PersonDraft } from "./filters";
import { downloadExport, enrol, erase, type Person, people, recentMatches, uploadPhoto } from "./queries";
import { peopleRoute } from "./route";
import { SightingList } from "./Sightings";

const TEXTAREA = "rounded-md border border-input bg-transparent px-3 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring";

function EnrolForm({ onEnrolled }: { onEnrolled: (person: Person) => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<PersonDraft>({ name: "", consent_note: "" });
  const [errors, setErrors] = useState<Partial<Record<keyof PersonDraft, string>>>({});
  const [outcome, setOutcome] = useState<Outcome>(null);
  const save = useMutation({
    mutationFn: enrol,
    onSuccess: (person) => {
      setDraft({ name: "", consent_note: "" });
      setOutcome({ ok: true, text: t("faces.enrolled", { name: person.name }) });
      void queryClient.invalidateQueries({ queryKey: people.queryKey });
      onEnrolled(person);
    },
    onError: (error) => setOutcome({ ok: false, text: t("faces.failed", { message: error.message }) }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = checkPerson(draft);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) save.mutate(checked.value);
  };
  const problem = (field: keyof PersonDraft) => errors[field] && (
    <p id={`enrol-${field}-error`} className="text-xs text-destructive">{t(`faces.${errors[field]}`)}</p>
  );
  return (
    <form className="flex flex-col gap-3" onSubmit={submit} noValidate aria-label={t("faces.enrolTitle")}>
      <h2 className="text-base font-semibold">{t("faces.enrolTitle")}</h2>
      <Field id="enrol-name" label={t("faces.name")}>
        <Input id="enrol-name" value={draft.name} maxLength={200} autoComplete="off"
          aria-invalid={errors.name ? true : undefined} aria-describedby={errors.name ? "enrol-name-error" : undefined}
          onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        {problem("name")}
      </Field>
      <Field id="enrol-consent" label={t("faces.consent")} hint={t("faces.consentHint")}>
        <textarea id="enrol-consent" rows={3} maxLength={2000} className={TEXTAREA} value={draft.consent_note}
          aria-invalid={errors.consent_note ? true : undefined}
          aria-describedby={cn("enrol-consent-hint", errors.consent_note && "enrol-consent_note-error")}
          onChange={(e) => setDraft({ ...draft, consent_note: e.target.value })} />
        {problem("consent_note")}
      </Field>
      <OutcomeLine outcome={outcome} testId="enrol-outcome" />
      <div><Button type="submit" disabled={save.isPending}>{t("faces.enrol")}</Button></div>
    </form>
  );
}

function PhotoUpload({ person }: { person: Person }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const upload = useMutation({
    mutationFn: (file: File) => uploadPhoto(person.id, file),
    onSuccess: () => {
      setOutcome({ ok: true, text: t("faces.uploaded") });
      if (input.current) input.current.value = "";
      void queryClient.invalidateQueries({ queryKey: people.queryKey });
    },
    onError: (error) => setOutcome({ ok: false, text: t("faces.failed", { message: error.message }) }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) { setOutcome({ ok: false, text: t("faces.failed", { message: t("faces.required") }) }); return; }
    setOutcome(null);
    upload.mutate(file);
  };
  return (
    <form className="flex flex-wrap items-end gap-3" onSubmit={submit}>
      <Field id="face-photo" label={t("faces.photo")}>
        <input id="face-photo" ref={input} type="file" accept="image/jpeg,image/png" className="text-sm" />
      </Field>
      <Button type="submit" disabled={upload.isPending}>{upload.isPending ? t("faces.uploading") : t("faces.upload")}</Button>
      <div className="basis-full"><OutcomeLine outcome={outcome} testId="photo-outcome" /></div>
    </form>
  );
}

function PersonCard({ person }: { person: Person }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const timeZone = useTimeZone();
  const cameras = useQuery(cameraNames);
  const matches = useQuery(recentMatches(person.id));
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const remove = useMutation({
    mutationFn: () => erase(person.id),
    onSuccess: () => {
      queryClient.setQueryData(people.queryKey, (old: Person[] | undefined) => old?.filter((p) => p.id !== person.id));
      void queryClient.invalidateQueries({ queryKey: ["faces"] });
      void navigate({ to: "/faces/people", search: {}, replace: true });
    },
    onError: (error) => setOutcome({ ok: false, text: t("faces.failed", { message: error.message }) }),
  });
  const exportAll = useMutation({
    mutationFn: () => downloadExport(person.id, `${person.name.replace(/[^\p{L}\p{N}_-]+/gu, "-")}.json`),
    onSuccess: () => setOutcome({ ok: true, text: t("faces.exported") }),
    onError: (error) => setOutcome({ ok: false, text: t("faces.failed", { message: error.message }) }),
  });
  return (
    <Card data-testid="face-person" data-person={person.id}>
      <CardHeader className="flex flex-col gap-1">
        <h2 className="text-lg font-semibold">{person.name}</h2>
        <p className="text-sm" data-testid="person-photos">{t("faces.photos", { count: person.photos.length })}</p>
        <p className="whitespace-pre-line text-sm text-muted-foreground"><span className="font-medium">{t("faces.consent")}:</span> {person.consent_note}</p>
      </CardHeader>
      <CardContent className="flex flex-col gap-4">
        <PhotoUpload key={person.id} person={person} />
        <section className="flex flex-col gap-2" aria-label={t("faces.recent")}>
          <div className="flex flex-wrap items-baseline justify-between gap-2">
            <h3 className="text-base font-semibold">{t("faces.recent")}</h3>
            <Link to="/faces" search={{ person: person.id }} className="text-sm underline-offset-2 hover:underline">{t("faces.seeAll")}</Link>
          </div>
          {matches.isError ? <p role="alert" className="text-sm text-destructive">{t("faces.loadError", { message: matches.error.message })}</p>
            : !matches.data ? <p className="text-sm text-muted-foreground">{t("faces.loading")}</p>
            : matches.data.length === 0 ? <p className="text-sm text-muted-foreground">{t("faces.noMatches")}</p>
            : <SightingList sightings={matches.data} cameras={cameras.data} timeZone={timeZone} label={t("faces.recent")} />}
        </section>
        <OutcomeLine outcome={outcome} testId="person-outcome" />
        <div className="flex flex-wrap gap-2">
          <Button variant="outline" disabled={exportAll.isPending} onClick={() => exportAll.mutate()}>
            {t("faces.export", { name: person.name })}
          </Button>
          {!confirming && (
            <Button variant="destructive" onClick={() => setConfirming(true)}>{t("faces.erase", { name: person.name })}</Button>
          )}
        </div>
        {confirming && (
          <div className="flex flex-col gap-2 rounded-md border border-red-700 p-3" role="group" aria-label={t("faces.erase", { name: person.name })}>
            <p className="text-sm">{t("faces.confirmErase", { name: person.name })}</p>
            <div className="flex flex-wrap gap-2">
              <Button variant="destructive" disabled={remove.isPending} onClick={() => remove.mutate()}>
                {t("faces.confirmEraseButton", { name: person.name })}
              </Button>
              <Button variant="outline" onClick={() => setConfirming(false)}>{t("faces.cancel")}</Button>
            </div>
          </div>
        )}
      </CardContent>
    </Card>
  );
}

export function PeoplePage() {
  const { t } = useTranslation();
  const { person: chosen } = peopleRoute.useSearch();
  const navigate = useNavigate();
  const list = useQuery(people);
  const person = list.data?.find((p) => p.id === chosen);
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-semibold">{t("faces.title")}</h1>
      <FacesNav />
      <p className="text-xs text-muted-foreground">{t("faces.privacy")}</p>
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-[22rem_1fr]">
        <div className="flex flex-col gap-4">
          <Card>
            <CardHeader><h2 className="text-base font-semibold">{t("faces.people")}</h2></CardHeader>
            <CardContent>
              {list.isError ? <p role="alert" className="text-sm text-destructive">{t("faces.loadError", { message: list.error.message })}</p>
                : !list.data ? <p className="text-sm text-muted-foreground">{t("faces.loading")}</p>
                : list.data.length === 0 ? <p className="text-sm text-muted-foreground">{t("faces.noPeople")}</p>
                : (
                  <ul className="flex flex-col gap-1" aria-label={t("faces.people")}>
                    {list.data.map((p) => (
                      <li key={p.id}>
                        <Link to="/faces/people" search={{ person: p.id }} data-testid="face-person-link"
                          aria-current={p.id === chosen ? "page" : undefined}
                          className={cn("flex justify-between gap-2 rounded-md px-2 py-1.5 text-sm hover:bg-accent",
                            p.id === chosen && "bg-accent font-medium")}>
                          <span>{p.name}</span>
                          <span className="text-muted-foreground">{t("faces.photos", { count: p.photos.length })}</span>
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
            </CardContent>
          </Card>
          <Card><CardContent className="pt-6">
            <EnrolForm onEnrolled={(p) => void navigate({ to: "/faces/people", search: { person: p.id } })} />
          </CardContent></Card>
        </div>
        {person ? <PersonCard key={person.id} person={person} />
          : <p className="text-sm text-muted-foreground">{t("faces.choose")}</p>}
      </div>
    </main>
  );
}
