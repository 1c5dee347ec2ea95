/** A response body as loosely typed JSON, for assertions. Takes a response or a pending one. */
export const json = async (response: Response | Promise<Response>): Promise<any> => (await response).json()
