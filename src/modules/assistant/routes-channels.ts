import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Platform } from '../../platform/module.ts';
import { sendProblem } from '../../platform/http/problem.ts';
import { AlexaVerificationError, alexaResponse, type createAlexaVerifier } from './alexa.ts';
import { speechText, type AssistantService, AssistantError } from './service.ts';
import { emptyResponse, gather, sayAndDial, sayAndHangUp, validProviderSignature } from './twiml.ts';

const smsSchema = z.object({
  From: z
    .string()
    .trim()
    .regex(/^\+?[0-9 ]{6,20}$/),
  Body: z.string().max(2000).default(''),
});
const voiceSchema = z.object({
  CallSid: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/),
  From: z.string().max(40).optional(),
  SpeechResult: z.string().max(2000).optional(),
  CallStatus: z.string().max(40).optional(),
});
const finishedCall = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

const alexaSchema = z.object({
  version: z.string(),
  session: z
    .object({
      sessionId: z.string().min(1).max(200),
      application: z.object({ applicationId: z.string() }).optional(),
    })
    .optional(),
  context: z
    .object({ System: z.object({ application: z.object({ applicationId: z.string() }) }) })
    .optional(),
  request: z.object({
    type: z.string(),
    timestamp: z.string(),
    intent: z
      .object({
        name: z.string(),
        slots: z.record(z.string(), z.object({ value: z.string().optional() }).loose()).optional(),
      })
      .optional(),
  }),
});

const GREETING =
  'Hello, this is Kilnford City Council’s automated assistant. I can report a pothole, tell you your bin day, or check a request. How can I help?';

/** Text messages, the voice line and Alexa: the same engine, each in its own wire format. */
export function registerChannelRoutes(
  app: FastifyInstance,
  platform: Platform,
  assistant: AssistantService,
  verifyAlexa: ReturnType<typeof createAlexaVerifier>,
) {
  const signedByProvider = (request: FastifyRequest) => {
    const token = assistant.settings.ASSISTANT_WEBHOOK_AUTH_TOKEN;
    return (
      !token ||
      validProviderSignature(
        token,
        `${platform.config.PUBLIC_URL}${request.url}`,
        (request.body ?? {}) as Record<string, unknown>,
        request.headers['x-twilio-signature'],
      )
    );
  };
  const xml = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/xml; charset=utf-8').header('cache-control', 'no-store').send(body);
  const limit = { rateLimit: platform.rateLimits.api };

  // ---- SMS: the provider posts each text; replies go out through notify ----
  app.post('/api/assistant/sms', { config: limit }, async (request, reply) => {
    if (!signedByProvider(request))
      return sendProblem(reply, {
        title: 'Forbidden',
        status: 403,
        detail: 'The request signature is not valid',
      });
    const parsed = smsSchema.safeParse(request.body ?? {});
    if (!parsed.success)
      return sendProblem(reply, { title: 'Bad request', status: 400, detail: 'From and Body are required' });
    const from = parsed.data.From.replace(/\s/g, '');
    const conversation = await assistant.open('sms', from, null);
    await assistant.message(conversation.id, parsed.data.Body);
    return xml(reply, emptyResponse);
  });

  // ---- Voice: TwiML-compatible; the provider turns speech into text ----
  const voiceAction = '/api/assistant/voice';
  app.post('/api/assistant/voice', { config: limit }, async (request, reply) => {
    if (!signedByProvider(request))
      return sendProblem(reply, {
        title: 'Forbidden',
        status: 403,
        detail: 'The request signature is not valid',
      });
    const parsed = voiceSchema.safeParse(request.body ?? {});
    if (!parsed.success)
      return sendProblem(reply, { title: 'Bad request', status: 400, detail: 'CallSid is required' });
    const call = parsed.data;
    const silence = Math.min(Number((request.query as Record<string, unknown>).silence ?? 0) || 0, 10);
    if (call.CallStatus && finishedCall.has(call.CallStatus)) {
      const open = await assistant.open('voice', call.CallSid, null);
      await assistant.hangUp(open.id, 'The caller hung up');
      return xml(reply, emptyResponse);
    }
    const conversation = await assistant.open('voice', call.CallSid, null);
    const speech = call.SpeechResult?.trim();
    if (!speech) {
      const said = await assistant.messages(conversation.id);
      if (said.length === 0 && silence === 0) return xml(reply, gather(GREETING, voiceAction, 0));
      if (silence >= 2) {
        await assistant.hangUp(conversation.id, 'The caller said nothing');
        return xml(
          reply,
          sayAndHangUp('I have not heard anything, so I will end the call. Nothing has been sent. Goodbye.'),
        );
      }
      return xml(
        reply,
        gather('Sorry, I did not hear anything. Please tell me what you need.', voiceAction, silence),
      );
    }
    const turn = await assistant.message(conversation.id, speech);
    if (turn.handedOver) {
      await assistant.hangUp(conversation.id, 'Transferred to an adviser');
      return xml(
        reply,
        sayAndDial(
          'I am putting you through to an adviser. Please hold.',
          assistant.settings.ASSISTANT_VOICE_TRANSFER_NUMBER,
        ),
      );
    }
    const words = speechText(turn.replies);
    if (turn.end) {
      await assistant.hangUp(conversation.id, 'The caller said goodbye');
      return xml(reply, sayAndHangUp(words));
    }
    return xml(reply, gather(words, voiceAction, 0));
  });

  app.post('/api/assistant/voice/status', { config: limit }, async (request, reply) => {
    if (!signedByProvider(request))
      return sendProblem(reply, {
        title: 'Forbidden',
        status: 403,
        detail: 'The request signature is not valid',
      });
    const parsed = voiceSchema.safeParse(request.body ?? {});
    if (!parsed.success)
      return sendProblem(reply, { title: 'Bad request', status: 400, detail: 'CallSid is required' });
    if (parsed.data.CallStatus && finishedCall.has(parsed.data.CallStatus)) {
      const open = await assistant.open('voice', parsed.data.CallSid, null);
      await assistant.hangUp(open.id, 'The caller hung up');
    }
    return xml(reply, emptyResponse);
  });

  // ---- Alexa: the Skills Kit's JSON, signature and timestamp checked on the exact bytes sent ----
  app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: 65_536 },
      (request, body, done) => {
        (request as FastifyRequest & { rawBody?: string }).rawBody = body as string;
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(Object.assign(new Error('The body is not valid JSON'), { statusCode: 400 }), undefined);
        }
      },
    );
    scope.post('/api/assistant/alexa', { config: limit }, async (request, reply) => {
      const raw = (request as FastifyRequest & { rawBody?: string }).rawBody ?? '';
      try {
        await verifyAlexa({
          certChainUrl: header(request, 'signaturecertchainurl'),
          signature: header(request, 'signature-256'),
          body: raw,
        });
      } catch (e) {
        if (!(e instanceof AlexaVerificationError)) throw e;
        request.log.info({ reason: e.message }, 'alexa request refused');
        return sendProblem(reply, { title: 'Bad request', status: 400, detail: e.message });
      }
      const parsed = alexaSchema.safeParse(request.body);
      if (!parsed.success || !parsed.data.session)
        return sendProblem(reply, {
          title: 'Bad request',
          status: 400,
          detail: 'Not an Alexa request with a session',
        });
      const body = parsed.data;
      const skill = assistant.settings.ASSISTANT_ALEXA_SKILL_ID;
      const appId =
        body.context?.System.application.applicationId ?? body.session!.application?.applicationId;
      if (skill && appId !== skill)
        return sendProblem(reply, { title: 'Bad request', status: 400, detail: 'Wrong skill' });
      const sessionId = body.session!.sessionId;
      const conversation = await assistant.open('alexa', sessionId, null);
      const type = body.request.type;
      if (type === 'SessionEndedRequest') {
        await assistant.hangUp(conversation.id, 'The Alexa session ended');
        return reply.send({ version: '1.0', response: {} });
      }
      if (type === 'LaunchRequest') return reply.send(alexaResponse(GREETING, false));
      if (type !== 'IntentRequest' || !body.request.intent)
        return reply.send(alexaResponse('Sorry, I cannot do that.', false));
      const intent = body.request.intent;
      if (intent.name === 'AMAZON.StopIntent' || intent.name === 'AMAZON.CancelIntent') {
        await assistant.hangUp(conversation.id, 'The resident stopped the skill');
        return reply.send(alexaResponse('Goodbye. Nothing unfinished has been sent.', true));
      }
      const said =
        intent.name === 'AMAZON.HelpIntent'
          ? 'help'
          : intent.name === 'AMAZON.YesIntent'
            ? 'yes'
            : intent.name === 'AMAZON.NoIntent'
              ? 'no'
              : (Object.values(intent.slots ?? {}).find((s) => s.value)?.value ?? '');
      try {
        const turn = await assistant.message(conversation.id, said);
        if (turn.handedOver) {
          await assistant.hangUp(conversation.id, 'Asked for an adviser on Alexa');
          return reply.send(
            alexaResponse('To talk to an adviser, please call 01632 960 000. Goodbye.', true),
          );
        }
        if (turn.end) await assistant.hangUp(conversation.id, 'The resident said goodbye');
        return reply.send(alexaResponse(speechText(turn.replies), turn.end));
      } catch (e) {
        if (e instanceof AssistantError)
          return reply.send(alexaResponse('Sorry, that conversation has ended. Please start again.', true));
        throw e;
      }
    });
  });
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
